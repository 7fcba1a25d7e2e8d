// Parsers for what Windows tools print (manage-bde, dsregcmd, netsh) and for
// the JSON that PowerShell's ConvertTo-Json writes for WMI classes and
// registry keys, separate from the probes that decide on them, so they build
// and are tested on every OS. Every parser takes text already decoded and
// returns nothing (std::nullopt) or an empty result for input it cannot
// read: never a guess.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "system_view.h"
#include "ztna/json.h"

namespace ztna::posture::windows {

// Raw tool output to UTF-8 with '\n' line ends: text::decode(), and once more
// when the result is still UTF-16 in disguise (every other byte NUL), which is
// what Windows PowerShell writes when it captures a tool that already wrote
// UTF-16 and re-encodes it ("M\0a\0n\0..." inside a UTF-16LE file).
std::string decode_output(std::string_view raw);

// A command's output, decoded, or why there is none (not collected, empty,
// binary): what every probe reads first.
struct Output {
    std::optional<std::string> text;  // set only when usable
    std::string error;                // why text is not set
};
Output read_command(const SystemView& view, std::string_view name);

// A query's JSON, or why there is none. A result of null is "could not tell".
struct QueryResult {
    std::optional<json::Value> value;  // set only when not null
    std::string error;
};
QueryResult read_query(const SystemView& view, std::string_view name);

// ConvertTo-Json writes one object for one instance and an array for several;
// Windows PowerShell 5.1 sometimes wraps an array as {"value": [...], "Count": n}.
// The instances (objects only) in any of these shapes.
std::vector<const json::Value*> instances(const json::Value& v);

// Members by name, case-insensitively (WMI and registry names are), read
// leniently: an int also from "42" or 42.0; a bool also from 1/0 and "True"/"False".
const json::Value* member(const json::Value& obj, std::string_view key);
std::optional<std::int64_t> int_member(const json::Value& obj, std::string_view key);
std::optional<bool> bool_member(const json::Value& obj, std::string_view key);
std::optional<std::string> string_member(const json::Value& obj, std::string_view key);

// "10 minutes", "1 minute", "90 seconds", "2 hours".
std::string duration_phrase(std::int64_t seconds);

// ---- BitLocker ----------------------------------------------------------------
// Win32_EncryptableVolume ConversionStatus, and the same states as manage-bde prints them.
enum class Conversion {
    FullyDecrypted,         // 0
    FullyEncrypted,         // 1
    EncryptionInProgress,   // 2
    DecryptionInProgress,   // 3
    EncryptionPaused,       // 4
    DecryptionPaused,       // 5
    UsedSpaceOnlyEncrypted  // manage-bde only (WMI: FullyEncrypted with EncryptionFlags bit 0)
};
std::string_view conversion_name(Conversion c);
enum class Protection { Off, On, Unknown };
std::string_view protection_name(Protection p);

struct BdeVolume {
    std::string letter;      // "C:", empty for a volume without a letter
    bool os_volume = false;  // "[OS Volume]" / "[Betriebssystemvolume]"
    std::optional<Conversion> conversion;
    std::optional<Protection> protection;
    std::optional<std::string> percent;  // "42.5" (decimal point, no sign)
    std::string method;                  // "XTS-AES 128" as printed
    std::string conversion_text, protection_text;  // as printed, for evidence when unreadable
    bool known_language = false;  // saw English or German keys
};
struct BdeStatus {
    std::vector<BdeVolume> volumes;
    std::string error;  // "ERROR: ..." line, when manage-bde printed one
};
BdeStatus parse_manage_bde_status(std::string_view text);

// ---- Security Center productState ------------------------------------------
enum class Scanner { Enabled, Disabled, Unknown };
enum class Signatures { UpToDate, OutOfDate, Unknown };
struct ProductState {
    Scanner scanner = Scanner::Unknown;        // bits 8-15: 0x10/0x11 on, 0x00/0x01 off or snoozed
    Signatures signatures = Signatures::Unknown;  // bits 0-7: 0x00 up to date, 0x10 out of date
};
ProductState decode_product_state(std::int64_t state);
std::string_view scanner_name(Scanner s);
std::string_view signatures_name(Signatures s);

// ---- dsregcmd /status ----------------------------------------------------------
struct DsregStatus {
    bool azure_ad_joined = false;
    bool domain_joined = false;
    bool workplace_joined = false;  // only when printed ("User State" section)
    bool enterprise_joined = false;
    std::string domain_name, tenant_name, mdm_url;
};
// Nothing unless both AzureAdJoined and DomainJoined are printed as YES/NO.
std::optional<DsregStatus> parse_dsregcmd_status(std::string_view text);

// ---- netsh advfirewall show allprofiles state ----------------------------------
struct NetshProfiles {
    std::optional<bool> domain, private_, public_;
};
// English only: "Domain Profile Settings:" ... "State  ON". Nothing unless all
// three profiles have a state.
std::optional<NetshProfiles> parse_netsh_allprofiles_state(std::string_view text);

}  // namespace ztna::posture::windows
