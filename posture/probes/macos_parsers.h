// Parsers for what macOS tools print (fdesetup, profiles, socketfilterfw,
// sw_vers, system_profiler, mdatp, sysadminctl, defaults, pmset), separate
// from the probes that decide on them, so they build and are tested on every
// OS. Every parser takes text already passed through text::decode() and
// returns nothing (std::nullopt) for input it cannot read: never a guess.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "system_view.h"
#include "ztna/json.h"

namespace ztna::posture::macos {

// A command's output, decoded, or why there is none ("no output", "empty",
// "binary"): what every macOS probe reads first.
struct Output {
    std::optional<std::string> text;  // decoded UTF-8, '\n' line ends; set only when usable
    std::string error;                // why text is not set
    bool answered = false;            // the view gave output (perhaps empty or binary), not an error
};
Output read_command(const SystemView& view, std::string_view name, std::string_view arg = {});
Output read_file(const SystemView& view, std::string_view path);

// ---- fdesetup status ------------------------------------------------------
enum class FileVaultState { On, Off, Deferred, Encrypting, EncryptionPaused, Decrypting, DecryptionPaused };
std::string_view filevault_state_name(FileVaultState s);
struct FileVaultStatus {
    FileVaultState state = FileVaultState::Off;
    std::optional<int> percent;  // "Percent completed = 42" (whole percent, fraction dropped)
};
std::optional<FileVaultStatus> parse_fdesetup_status(std::string_view text);

// ---- profiles status -type enrollment ----------------------------------------
struct Enrollment {
    bool dep = false;            // "Enrolled via DEP: Yes"
    bool mdm = false;            // "MDM enrollment: Yes..."
    bool user_approved = false;  // "MDM enrollment: Yes (User Approved)"
    std::string server_host;     // host of "MDM server: https://host/...", when printed
};
std::optional<Enrollment> parse_profiles_enrollment(std::string_view text);

// ---- socketfilterfw --getglobalstate / --getstealthmode ----------------------
// State 0 off, 1 on, 2 on and blocking all incoming connections.
std::optional<int> parse_socketfilterfw_state(std::string_view text);
std::optional<bool> parse_socketfilterfw_stealth(std::string_view text);

// ---- sw_vers --------------------------------------------------------------
struct SwVers {
    std::string product_name;     // "macOS" (11 and later) or "Mac OS X"
    std::string product_version;  // "14.4.1"
    std::string build_version;    // "23E224"
    std::string version_extra;    // "(a)" on a Rapid Security Response, else empty
};
std::optional<SwVers> parse_sw_vers(std::string_view text);

// ---- XProtect -------------------------------------------------------------
// The <string> value of a key at the top of an XML property list (Info.plist).
std::optional<std::string> plist_string(std::string_view xml, std::string_view key);
// "2024-03-20T17:44:55Z" (system_profiler -json dates) as Unix seconds.
std::optional<std::int64_t> parse_iso8601_utc(std::string_view s);
struct InstallRecord {
    std::string name;     // "XProtectPlistConfigData"
    std::string version;  // "2188"
    std::int64_t when = 0;
    std::string date;     // as printed
};
// The XProtect records (XProtectPlistConfigData*, XProtectPayloads*) of
// `system_profiler SPInstallHistoryDataType -json`; nothing when the document
// is not that (no SPInstallHistoryDataType array). An empty vector means the
// history was read and holds no XProtect update.
std::optional<std::vector<InstallRecord>> parse_xprotect_history(const json::Value& doc);

// ---- mdatp health -----------------------------------------------------------
struct DefenderHealth {
    bool healthy = false;
    bool real_time_protection = false;
    std::string definitions_status;                     // "up_to_date", "updating", "unavailable"... (empty if absent)
    std::optional<long long> definitions_minutes_ago;   // definitions_updated_minutes_ago
    std::string definitions_version;
    std::string app_version;
    std::vector<std::string> health_issues;
};
std::optional<DefenderHealth> parse_mdatp_health(std::string_view text);

// ---- screen lock ----------------------------------------------------------
// `sysadminctl -screenLock status` (printed on stderr, after an NSLog prefix):
// "screenLock delay is 300 seconds", "screenLock delay is immediate",
// "screenLock is off". Nothing when not that; -1 (off) for "is off" or a
// negative delay.
std::optional<int> parse_sysadminctl_screenlock(std::string_view text);
// `defaults read ... idleTime`: a lone non-negative integer (seconds; 0 = never).
std::optional<int> parse_defaults_int(std::string_view text);
// `pmset -g`: the " displaysleep  N" line, minutes (0 = never).
std::optional<int> parse_pmset_displaysleep(std::string_view text);

}  // namespace ztna::posture::macos
