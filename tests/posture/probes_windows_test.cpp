// The Windows probes and their parsers, on in-memory views: every state each
// tool reports, and every kind of bad input (missing, empty, truncated,
// garbled, enormous, UTF-16, "{}", null) -> unknown with a reason, never pass.
#include <doctest/doctest.h>

#include <random>

#include "engine.h"
#include "memory_view.h"
#include "text.h"
#include "windows_parsers.h"

using namespace ztna;
using namespace ztna::posture;

namespace {

constexpr std::int64_t kNow = 1764806400;  // 2025-12-04

MemoryView win() { return MemoryView(Platform::Windows, kNow); }

CheckResult run(const MemoryView& v, std::string_view id, const Requirements& req = {}) { return evaluate_one(v, req, id); }

std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

std::string utf16le(std::string_view ascii) {
    std::string out = "\xFF\xFE";
    for (char c : ascii) {
        out += c;
        out += '\0';
    }
    return out;
}

std::string garbage(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = char(rng());
    return s;
}

std::string enormous(std::string_view unit) {
    std::string s;
    while (s.size() < (2u << 20)) s += unit;
    return s;
}

const json::Value* ev(const CheckResult& r, std::string_view key) {
    const auto it = r.evidence.find(key);
    return it == r.evidence.end() ? nullptr : &it->second;
}

std::string ev_str(const CheckResult& r, std::string_view key) {
    const auto* v = ev(r, key);
    return v && v->is_string() ? v->as_string() : std::string("<none>");
}

// Every bad version of one source: unknown, with a summary and a remediation.
void check_bad_inputs(const char* id, std::map<std::string, std::string, std::less<>> MemoryView::*store, const std::string& key,
                      const std::string& good, const MemoryView& base) {
    const std::vector<std::pair<const char*, std::optional<std::string>>> kinds = {
        {"missing", std::nullopt},
        {"empty", std::string()},
        {"blank", std::string("\r\n  \r\n")},
        {"truncated", good.substr(0, good.size() / 3)},
        {"garbled", garbage(2048, 3)},
        {"nul bytes", std::string(300, '\0')},
        {"enormous", enormous("lorem ipsum dolor sit amet\r\n")},
        {"empty json", std::string("{}")},
        {"null json", std::string("null")},
    };
    for (const auto& [kind, content] : kinds) {
        CAPTURE(id);
        CAPTURE(key);
        CAPTURE(kind);
        MemoryView v = base;
        if (content) (v.*store)[key] = *content;
        else (v.*store).erase(key);
        const auto r = run(v, id);
        CAPTURE(r.summary);
        CHECK(r.status == Status::Unknown);
        CHECK(!r.summary.empty());
        CHECK(!r.remediation.empty());
    }
}

const char* kBdeHeader =
    "BitLocker Drive Encryption: Configuration Tool version 10.0.22621\n"
    "Copyright (C) 2013 Microsoft Corporation. All rights reserved.\n"
    "\n"
    "Disk volumes that can be protected with\n"
    "BitLocker Drive Encryption:\n";

std::string bde_volume(std::string_view header, std::string_view conversion, std::string_view percent,
                       std::string_view protection) {
    return std::string(header) +
           "\n"
           "    Size:                 475.84 GB\n"
           "    BitLocker Version:    2.0\n"
           "    Conversion Status:    " + std::string(conversion) + "\n" +
           "    Percentage Encrypted: " + std::string(percent) + "\n" +
           "    Encryption Method:    XTS-AES 128\n"
           "    Protection Status:    " + std::string(protection) + "\n" +
           "    Lock Status:          Unlocked\n"
           "    Identification Field: Unknown\n"
           "    Key Protectors:\n"
           "        TPM\n"
           "        Numerical Password\n\n";
}

std::string bde(std::string_view conversion, std::string_view percent, std::string_view protection) {
    return crlf(std::string(kBdeHeader) + bde_volume("Volume C: [Windows]\n[OS Volume]\n", conversion, percent, protection));
}

const char* kBdeGerman =
    "BitLocker-Laufwerkverschl\xC3\xBCsselung: Konfigurationstool, Version 10.0.19041\n"
    "Copyright (C) 2013 Microsoft Corporation. Alle Rechte vorbehalten.\n"
    "\n"
    "Datentr\xC3\xA4gervolumes, die mit BitLocker-Laufwerkverschl\xC3\xBCsselung\n"
    "gesch\xC3\xBCtzt werden k\xC3\xB6nnen:\n"
    "Volume \"C:\" []\n"
    "[Betriebssystemvolume]\n"
    "\n"
    "    Gr\xC3\xB6\xC3\x9F" "e:                        49,36 GB\n"
    "    BitLocker-Version:            2.0\n"
    "    Konvertierungsstatus:         Vollst\xC3\xA4ndig verschl\xC3\xBCsselt\n"
    "    Verschl\xC3\xBCsselt (Prozent):      100,0 %\n"
    "    Verschl\xC3\xBCsselungsmethode:      XTS-AES 128\n"
    "    Schutzstatus:                 Der Schutz ist aktiviert.\n"
    "    Sperrungsstatus:              Entsperrt\n"
    "    ID-Feld:                      Unbekannt\n"
    "    Schl\xC3\xBCsselschutzvorrichtungen:\n"
    "        TPM\n";

std::string wmi_volume(int ps, int cs, int pct = 100, int flags = 0, const char* letter = "C:", int type = 0) {
    return "{\"DeviceID\":\"\\\\\\\\?\\\\Volume{1}\\\\\",\"DriveLetter\":\"" + std::string(letter) + "\",\"VolumeType\":" +
           std::to_string(type) + ",\"ProtectionStatus\":" + std::to_string(ps) + ",\"ConversionStatus\":" +
           std::to_string(cs) + ",\"EncryptionMethod\":6,\"EncryptionPercentage\":" + std::to_string(pct) +
           ",\"EncryptionFlags\":" + std::to_string(flags) + "}";
}

}  // namespace

// ---- helpers ---------------------------------------------------------------------

TEST_CASE("windows decode_output: UTF-16LE with BOM, CRLF, and UTF-16 re-encoded once more") {
    CHECK(windows::decode_output(utf16le("a\r\nb\r\n")) == "a\nb\n");
    // What Windows PowerShell writes when it re-encodes a tool's UTF-16 output: NULs between the letters.
    CHECK(windows::decode_output(utf16le(std::string("S\0t\0a\0t\0e\0\r\0\n\0", 14))) == "State\n");
    // Only NULs is binary, not text.
    CHECK(windows::decode_output(std::string(64, '\0')) == std::string(64, '\0'));
}

TEST_CASE("windows instances: one object, an array, PowerShell 5.1's {value, Count}") {
    auto one = json::parse(R"({"a":1})");
    auto many = json::parse(R"([{"a":1},{"a":2},3])");
    auto wrapped = json::parse(R"({"value":[{"a":1},{"a":2}],"Count":2})");
    auto empty = json::parse("[]");
    REQUIRE((one && many && wrapped && empty));
    CHECK(windows::instances(*one).size() == 1);
    CHECK(windows::instances(*many).size() == 2);
    CHECK(windows::instances(*wrapped).size() == 2);
    CHECK(windows::instances(*empty).empty());
    CHECK(windows::instances(json::Value(42)).empty());
}

TEST_CASE("windows members: case-insensitive, lenient ints and bools") {
    auto v = json::parse(R"({"Enabled":"True","N":"42","D":5.0,"B":1,"X":"maybe","F":false})");
    REQUIRE(v);
    CHECK(windows::bool_member(*v, "enabled") == true);
    CHECK(windows::bool_member(*v, "B") == true);
    CHECK(windows::bool_member(*v, "F") == false);
    CHECK(!windows::bool_member(*v, "X"));
    CHECK(windows::int_member(*v, "n") == 42);
    CHECK(windows::int_member(*v, "D") == 5);
    CHECK(!windows::int_member(*v, "X"));
    CHECK(!windows::int_member(*v, "missing"));
    CHECK(windows::duration_phrase(600) == "10 minutes");
    CHECK(windows::duration_phrase(60) == "1 minute");
    CHECK(windows::duration_phrase(90) == "90 seconds");
    CHECK(windows::duration_phrase(7200) == "2 hours");
}

// ---- manage-bde and disk_encryption -----------------------------------------------

TEST_CASE("manage-bde parser: English and German, every conversion state, percentages") {
    auto s = windows::parse_manage_bde_status(text::decode(bde("Encryption in Progress", "42.5%", "Protection Off")));
    REQUIRE(s.volumes.size() == 1);
    CHECK(s.volumes[0].letter == "C:");
    CHECK(s.volumes[0].os_volume);
    CHECK(s.volumes[0].conversion == windows::Conversion::EncryptionInProgress);
    CHECK(s.volumes[0].protection == windows::Protection::Off);
    CHECK(s.volumes[0].percent == "42.5");
    CHECK(s.volumes[0].method == "XTS-AES 128");

    const std::pair<const char*, windows::Conversion> states[] = {
        {"Fully Decrypted", windows::Conversion::FullyDecrypted},
        {"Fully Encrypted", windows::Conversion::FullyEncrypted},
        {"Used Space Only Encrypted", windows::Conversion::UsedSpaceOnlyEncrypted},
        {"Decryption in Progress", windows::Conversion::DecryptionInProgress},
        {"Encryption Paused", windows::Conversion::EncryptionPaused},
        {"Decryption Paused", windows::Conversion::DecryptionPaused},
    };
    for (const auto& [printed, want] : states) {
        CAPTURE(printed);
        auto r = windows::parse_manage_bde_status(text::decode(bde(printed, "100.0%", "Protection On")));
        REQUIRE(r.volumes.size() == 1);
        CHECK(r.volumes[0].conversion == want);
    }

    auto g = windows::parse_manage_bde_status(kBdeGerman);
    REQUIRE(g.volumes.size() == 1);
    CHECK(g.volumes[0].letter == "C:");
    CHECK(g.volumes[0].os_volume);
    CHECK(g.volumes[0].known_language);
    CHECK(g.volumes[0].conversion == windows::Conversion::FullyEncrypted);
    CHECK(g.volumes[0].protection == windows::Protection::On);
    CHECK(g.volumes[0].percent == "100.0");

    // "Der Schutz ist deaktiviert." contains "aktiviert": must be off.
    std::string off = kBdeGerman;
    off.replace(off.find("Der Schutz ist aktiviert."), 25, "Der Schutz ist deaktiviert.");
    CHECK(windows::parse_manage_bde_status(off).volumes[0].protection == windows::Protection::Off);
}

TEST_CASE("disk_encryption windows: WMI states") {
    struct Case {
        int ps, cs, pct, flags;
        Status want;
        const char* conversion;
    };
    const Case cases[] = {
        {1, 1, 100, 0, Status::Pass, "fully_encrypted"},
        {1, 1, 100, 1, Status::Pass, "used_space_only_encrypted"},
        {0, 1, 100, 0, Status::Fail, "fully_encrypted"},  // suspended
        {0, 0, 0, 0, Status::Fail, "fully_decrypted"},
        {0, 2, 42, 0, Status::Fail, "encryption_in_progress"},
        {1, 3, 60, 0, Status::Fail, "decryption_in_progress"},
        {0, 4, 42, 0, Status::Fail, "encryption_paused"},
        {0, 5, 42, 0, Status::Fail, "decryption_paused"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.conversion);
        auto v = win();
        v.queries["Win32_EncryptableVolume"] = wmi_volume(c.ps, c.cs, c.pct, c.flags);
        const auto r = run(v, "disk_encryption");
        CAPTURE(r.summary);
        CHECK(r.status == c.want);
        CHECK(ev_str(r, "source") == "wmi");
        CHECK(ev_str(r, "conversion_status") == c.conversion);
        if (c.want == Status::Fail) CHECK(!r.remediation.empty());
    }
    auto v = win();
    v.queries["Win32_EncryptableVolume"] = wmi_volume(0, 1);
    const auto suspended = run(v, "disk_encryption");
    CHECK(suspended.summary == "BitLocker is suspended on C:, so the disk can be read without the key.");
    CHECK(text::contains_icase(suspended.remediation, "manage-bde -protectors -enable C:"));
    v.queries["Win32_EncryptableVolume"] = wmi_volume(0, 2, 42);
    CHECK(run(v, "disk_encryption").summary ==
          "BitLocker is still encrypting C: (42% encrypted); this check will pass when encryption is complete.");
}

TEST_CASE("disk_encryption windows: the OS volume is picked among several (array and {value,Count})") {
    auto v = win();
    v.queries["Win32_EncryptableVolume"] = "[" + wmi_volume(0, 0, 0, 0, "D:", 1) + "," + wmi_volume(1, 1, 100, 0, "C:", 0) + "]";
    CHECK(run(v, "disk_encryption").status == Status::Pass);
    v.queries["Win32_EncryptableVolume"] = "{\"value\":[" + wmi_volume(1, 1, 100, 0, "D:", 1) + "," +
                                           wmi_volume(0, 0, 0, 0, "C:", 0) + "],\"Count\":2}";
    CHECK(run(v, "disk_encryption").status == Status::Fail);
    // Only a data volume: WMI cannot decide, manage-bde is missing: unknown.
    v.queries["Win32_EncryptableVolume"] = wmi_volume(1, 1, 100, 0, "D:", 1);
    CHECK(run(v, "disk_encryption").status == Status::Unknown);
    // ProtectionStatus 2 (locked) or an out-of-range ConversionStatus is no answer.
    v.queries["Win32_EncryptableVolume"] = wmi_volume(2, 1);
    CHECK(run(v, "disk_encryption").status == Status::Unknown);
    v.queries["Win32_EncryptableVolume"] = wmi_volume(1, 9);
    CHECK(run(v, "disk_encryption").status == Status::Unknown);
}

TEST_CASE("disk_encryption windows: manage-bde when WMI cannot tell, in English, German and UTF-16") {
    auto v = win();
    v.queries["Win32_EncryptableVolume"] = "{}";
    v.commands["manage-bde-status"] = bde("Fully Encrypted", "100.0%", "Protection On");
    auto r = run(v, "disk_encryption");
    CHECK(r.status == Status::Pass);
    CHECK(ev_str(r, "source") == "manage-bde");
    CHECK(ev(r, "wmi_error") != nullptr);

    v.commands["manage-bde-status"] = utf16le(bde("Fully Encrypted", "100.0%", "Protection Off (1 reboots left)"));
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.summary, "suspended"));

    v.commands["manage-bde-status"] = bde("Used Space Only Encrypted", "100,0%", "Protection On");
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Pass);
    CHECK(r.summary == "BitLocker protects the system drive C: (used space only encrypted).");
    CHECK(ev(r, "note") != nullptr);
    CHECK(ev_str(r, "percent_encrypted") == "100.0%");

    v.commands["manage-bde-status"] = bde("Encryption in Progress", "3.5%", "Protection Off");
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.summary, "will pass when encryption is complete"));

    v.commands["manage-bde-status"] = bde("Fully Decrypted", "0.0%", "Protection Off");
    CHECK(run(v, "disk_encryption").status == Status::Fail);

    v.commands["manage-bde-status"] = crlf(kBdeGerman);
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Pass);
    CHECK(ev_str(r, "conversion_status") == "fully_encrypted");

    // WMI decides over manage-bde.
    v.queries["Win32_EncryptableVolume"] = wmi_volume(0, 0, 0);
    CHECK(run(v, "disk_encryption").status == Status::Fail);
}

TEST_CASE("disk_encryption windows: manage-bde the check cannot read is unknown, never pass") {
    auto v = win();
    // French: a language this check does not read.
    v.commands["manage-bde-status"] = crlf(
        "Chiffrement de lecteur BitLocker : outil de configuration version 10.0.22621\n"
        "Volume C: [Windows]\n[Volume du syst\xC3\xA8me d'exploitation]\n\n"
        "    Taille :                    475,84 Go\n"
        "    \xC3\x89tat de la conversion :    Chiffrement int\xC3\xA9gral\n"
        "    \xC3\x89tat de la protection :    Protection activ\xC3\xA9" "e\n");
    auto r = run(v, "disk_encryption");
    CHECK(r.status == Status::Unknown);
    CHECK(text::contains_icase(ev_str(r, "manage_bde_error"), "language"));

    // Access denied (not elevated).
    v.commands["manage-bde-status"] = crlf(
        "BitLocker Drive Encryption: Configuration Tool version 10.0.22621\n"
        "Copyright (C) 2013 Microsoft Corporation. All rights reserved.\n\n"
        "ERROR: An attempt to access a required resource was denied.\n\n"
        "Check that you have administrative rights on the computer.\n");
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Unknown);
    CHECK(text::contains_icase(ev_str(r, "manage_bde_error"), "access a required resource was denied"));

    // A status string this check does not know, and a truncated block.
    v.commands["manage-bde-status"] = bde("Wiping Free Space", "100.0%", "Protection On");
    CHECK(run(v, "disk_encryption").status == Status::Unknown);
    const std::string full = bde("Fully Encrypted", "100.0%", "Protection On");
    v.commands["manage-bde-status"] = full.substr(0, full.find("Protection Status"));
    CHECK(run(v, "disk_encryption").status == Status::Unknown);
    // Protection "Unknown" (a locked volume) is no answer.
    v.commands["manage-bde-status"] = bde("Fully Encrypted", "100.0%", "Unknown");
    CHECK(run(v, "disk_encryption").status == Status::Unknown);

    check_bad_inputs("disk_encryption", &MemoryView::commands, "manage-bde-status", full, win());
    check_bad_inputs("disk_encryption", &MemoryView::queries, "Win32_EncryptableVolume", wmi_volume(1, 1), win());
}

// ---- antivirus ------------------------------------------------------------------

namespace {
std::string sc_product(const char* name, int state) {
    return std::string("{\"displayName\":\"") + name + "\",\"productState\":" + std::to_string(state) + "}";
}
std::string mp_status(const char* mode, bool av, bool rtp, int age) {
    return std::string("{\"AMRunningMode\":\"") + mode + "\",\"AntivirusEnabled\":" + (av ? "true" : "false") +
           ",\"RealTimeProtectionEnabled\":" + (rtp ? "true" : "false") + ",\"AntivirusSignatureAge\":" + std::to_string(age) + "}";
}
}  // namespace

TEST_CASE("productState decoding") {
    using windows::Scanner;
    using windows::Signatures;
    CHECK(windows::decode_product_state(397568).scanner == Scanner::Enabled);     // 0x061100
    CHECK(windows::decode_product_state(397568).signatures == Signatures::UpToDate);
    CHECK(windows::decode_product_state(397584).signatures == Signatures::OutOfDate);  // 0x061110
    CHECK(windows::decode_product_state(393472).scanner == Scanner::Disabled);    // 0x060100
    CHECK(windows::decode_product_state(266240).scanner == Scanner::Enabled);     // 0x041000
    CHECK(windows::decode_product_state(262144).scanner == Scanner::Disabled);    // 0x040000
    CHECK(windows::decode_product_state(0x062000).scanner == Scanner::Unknown);   // 0x20: not a state we know
    CHECK(windows::decode_product_state(0x061104).signatures == Signatures::Unknown);
    CHECK(windows::decode_product_state(-1).scanner == Scanner::Unknown);
}

TEST_CASE("antivirus windows: Security Center and Defender together") {
    auto v = win();
    v.queries["AntiVirusProduct"] = sc_product("Windows Defender", 397568);
    auto r = run(v, "antivirus");
    CHECK(r.status == Status::Pass);
    CHECK(ev_str(r, "active_product") == "Windows Defender");

    // Defender's own age beats productState, against the requirement.
    v.queries["MpComputerStatus"] = mp_status("Normal", true, true, 9);
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.summary, "out of date"));
    CHECK(text::contains_icase(r.remediation, "Update-MpSignature"));
    Requirements lax;
    lax.max_signature_age_days = 14;
    CHECK(run(v, "antivirus", lax).status == Status::Pass);

    v.queries["MpComputerStatus"] = mp_status("Normal", true, false, 0);
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.summary, "installed but turned off"));
    CHECK(text::contains_icase(r.remediation, "Real-time protection"));

    // Security Center only: off, out of date.
    v.queries.erase("MpComputerStatus");
    v.queries["AntiVirusProduct"] = sc_product("Windows Defender", 393472);
    CHECK(run(v, "antivirus").status == Status::Fail);
    v.queries["AntiVirusProduct"] = sc_product("Windows Defender", 397584);
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.summary, "out of date"));
}

TEST_CASE("antivirus windows: several products, passive Defender, unknown states") {
    auto v = win();
    v.queries["AntiVirusProduct"] = "[" + sc_product("Windows Defender", 393472) + "," + sc_product("ESET Security", 266240) + "]";
    v.queries["MpComputerStatus"] = mp_status("Passive Mode", true, false, 3);
    auto r = run(v, "antivirus");
    CHECK(r.status == Status::Pass);
    CHECK(ev_str(r, "active_product") == "ESET Security");
    CHECK(text::contains_icase(r.summary, "passive mode"));

    // The third party is off: the passive Defender does not count.
    v.queries["AntiVirusProduct"] = "[" + sc_product("Windows Defender", 393472) + "," + sc_product("ESET Security", 262144) + "]";
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.summary, "ESET Security is installed but turned off"));

    // A product in a state we cannot decode might be the protecting one: unknown, not fail.
    v.queries["AntiVirusProduct"] = "[" + sc_product("Windows Defender", 393472) + "," + sc_product("Odd AV", 0x062000) + "]";
    CHECK(run(v, "antivirus").status == Status::Unknown);

    // Defender passive with no readable Security Center: the primary product is not known.
    v.queries.erase("AntiVirusProduct");
    CHECK(run(v, "antivirus").status == Status::Unknown);
    v.queries["MpComputerStatus"] = mp_status("EDR Block Mode", true, false, 0);
    CHECK(run(v, "antivirus").status == Status::Unknown);

    // Defender alone, normal mode, no Security Center.
    v.queries["MpComputerStatus"] = mp_status("Normal", true, true, 1);
    CHECK(run(v, "antivirus").status == Status::Pass);
    v.queries["MpComputerStatus"] = mp_status("Sideways", true, true, 1);
    CHECK(run(v, "antivirus").status == Status::Unknown);

    // Security Center lists nothing at all.
    v.queries.erase("MpComputerStatus");
    v.queries["AntiVirusProduct"] = "[]";
    CHECK(run(v, "antivirus").status == Status::Fail);
}

TEST_CASE("antivirus windows: bad input is unknown") {
    check_bad_inputs("antivirus", &MemoryView::queries, "AntiVirusProduct", sc_product("Windows Defender", 397568), win());
    check_bad_inputs("antivirus", &MemoryView::queries, "MpComputerStatus", mp_status("Normal", true, true, 0), win());
    auto v = win();
    v.queries["AntiVirusProduct"] = R"({"displayName":"Windows Defender","productState":"not a number"})";
    CHECK(run(v, "antivirus").status == Status::Unknown);
    v.queries["AntiVirusProduct"] = utf16le(sc_product("Windows Defender", 397568));
    CHECK(run(v, "antivirus").status == Status::Pass);
}

// ---- managed_device ---------------------------------------------------------------

namespace {
std::string dsreg(const char* aad, const char* domain, const char* mdm_url, const char* workplace = "NO") {
    return crlf(std::string("+----------------------------------------------------------------------+\n"
                            "| Device State                                                         |\n"
                            "+----------------------------------------------------------------------+\n\n"
                            "             AzureAdJoined : ") + aad + "\n"
                "          EnterpriseJoined : NO\n"
                "              DomainJoined : " + domain + "\n" +
                (std::string(domain) == "YES" ? "                DomainName : CONTOSO\n" : "") +
                "\n+----------------------------------------------------------------------+\n"
                "| Tenant Details                                                       |\n"
                "+----------------------------------------------------------------------+\n\n"
                "                TenantName : Contoso\n"
                "                    MdmUrl : " + mdm_url + "\n"
                "\n           WorkplaceJoined : " + workplace + "\n");
}
constexpr const char* kIntune = "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc";
constexpr const char* kEnrolled = R"([{"EnrollmentId":"8C3B9D21","ProviderID":"MS DM Server","EnrollmentState":1,"EnrollmentType":6,"UPN":"a@b.example"}])";
}  // namespace

TEST_CASE("dsregcmd parser") {
    auto s = windows::parse_dsregcmd_status(text::decode(dsreg("YES", "YES", kIntune)));
    REQUIRE(s);
    CHECK(s->azure_ad_joined);
    CHECK(s->domain_joined);
    CHECK(s->domain_name == "CONTOSO");
    CHECK(s->tenant_name == "Contoso");
    CHECK(s->mdm_url == kIntune);
    CHECK(!windows::parse_dsregcmd_status("AzureAdJoined : MAYBE\nDomainJoined : NO\n"));
    CHECK(!windows::parse_dsregcmd_status("hello world"));
}

TEST_CASE("managed_device windows: every join state") {
    auto v = win();
    v.commands["dsregcmd-status"] = dsreg("YES", "NO", kIntune);
    v.queries["MdmEnrollments"] = kEnrolled;
    auto r = run(v, "managed_device");
    CHECK(r.status == Status::Pass);
    CHECK(r.summary == "This device is managed: it is enrolled in MDM (Microsoft Intune).");

    // MdmUrl alone passes; the enrollment alone passes.
    v.queries["MdmEnrollments"] = "[]";
    CHECK(run(v, "managed_device").status == Status::Pass);
    v.commands["dsregcmd-status"] = dsreg("YES", "NO", "");
    v.queries["MdmEnrollments"] = kEnrolled;
    CHECK(run(v, "managed_device").status == Status::Pass);
    // An enrollment that is not active (state 0) does not.
    v.queries["MdmEnrollments"] = R"([{"ProviderID":"MS DM Server","EnrollmentState":0,"EnrollmentType":6}])";
    r = run(v, "managed_device");
    CHECK(r.status == Status::Fail);
    CHECK(r.summary == "This device is joined to Microsoft Entra ID (Contoso) but not enrolled in MDM, so it is not managed.");

    v.queries["MdmEnrollments"] = "[]";
    v.commands["dsregcmd-status"] = dsreg("YES", "YES", "");
    CHECK(text::contains_icase(run(v, "managed_device").summary, "hybrid joined"));
    v.commands["dsregcmd-status"] = dsreg("NO", "YES", "");
    r = run(v, "managed_device");
    CHECK(r.status == Status::Fail);
    CHECK(r.summary == "This device is joined to the domain CONTOSO but not managed by MDM.");
    v.commands["dsregcmd-status"] = dsreg("NO", "NO", "", "YES");
    CHECK(text::contains_icase(run(v, "managed_device").summary, "work account is registered"));
    v.commands["dsregcmd-status"] = dsreg("NO", "NO", "");
    CHECK(run(v, "managed_device").status == Status::Fail);
}

TEST_CASE("managed_device windows: unreadable sources") {
    auto v = win();
    v.commands["dsregcmd-status"] = dsreg("YES", "NO", "");
    // No enrollment record and no MdmUrl: not known.
    CHECK(run(v, "managed_device").status == Status::Unknown);
    v.queries["MdmEnrollments"] = "{}";
    CHECK(run(v, "managed_device").status == Status::Unknown);
    v.queries["MdmEnrollments"] = R"({"ProviderID":"MS DM Server","EnrollmentState":1})";  // one enrollment as one object
    CHECK(run(v, "managed_device").status == Status::Pass);
    check_bad_inputs("managed_device", &MemoryView::commands, "dsregcmd-status", dsreg("YES", "NO", kIntune), win());
    check_bad_inputs("managed_device", &MemoryView::queries, "MdmEnrollments", kEnrolled, win());
}

// ---- firewall ---------------------------------------------------------------------

namespace {
std::string netsh(const char* d, const char* p, const char* u) {
    return crlf(std::string("\nDomain Profile Settings:\n----------------------------------------------------------------------\n"
                            "State                                 ") + d +
                "\n\nPrivate Profile Settings:\n----------------------------------------------------------------------\n"
                "State                                 " + p +
                "\n\nPublic Profile Settings:\n----------------------------------------------------------------------\n"
                "State                                 " + u + "\nOk.\n\n");
}
}  // namespace

TEST_CASE("firewall windows: Get-NetFirewallProfile in every Enabled spelling") {
    for (const char* on : {"true", "1", "\"True\""}) {
        for (const char* off : {"false", "0", "\"False\""}) {
            CAPTURE(on);
            CAPTURE(off);
            auto v = win();
            v.queries["NetFirewallProfile"] = std::string("[{\"Name\":\"Domain\",\"Enabled\":") + on +
                                              "},{\"Name\":\"Private\",\"Enabled\":" + off + "},{\"Name\":\"Public\",\"Enabled\":" + off + "}]";
            const auto r = run(v, "firewall");
            CHECK(r.status == Status::Fail);
            CHECK(r.summary == "Windows Firewall is off for the Private and Public profiles, so this device accepts unsolicited connections on those networks.");
        }
    }
    auto v = win();
    v.queries["NetFirewallProfile"] = R"([{"Name":"Domain","Enabled":true},{"Name":"Private","Enabled":true},{"Name":"Public","Enabled":true}])";
    CHECK(run(v, "firewall").status == Status::Pass);
    // NotConfigured (2) or a missing profile: the query cannot decide, and there is no netsh.
    v.queries["NetFirewallProfile"] = R"([{"Name":"Domain","Enabled":2},{"Name":"Private","Enabled":1},{"Name":"Public","Enabled":1}])";
    CHECK(run(v, "firewall").status == Status::Unknown);
    v.queries["NetFirewallProfile"] = R"([{"Name":"Private","Enabled":1},{"Name":"Public","Enabled":1}])";
    CHECK(run(v, "firewall").status == Status::Unknown);
    v.commands["netsh-firewall"] = netsh("OFF", "ON", "ON");
    const auto r = run(v, "firewall");
    CHECK(r.status == Status::Fail);
    CHECK(ev_str(r, "source") == "netsh");
}

TEST_CASE("firewall windows: netsh") {
    auto p = windows::parse_netsh_allprofiles_state(text::decode(netsh("ON", "OFF", "ON")));
    REQUIRE(p);
    CHECK(*p->domain);
    CHECK(!*p->private_);
    CHECK(*p->public_);
    auto v = win();
    v.commands["netsh-firewall"] = utf16le(netsh("ON", "ON", "ON"));
    CHECK(run(v, "firewall").status == Status::Pass);
    // German netsh ("Domänenprofil-Einstellungen", "Status EIN") is not read: unknown.
    v.commands["netsh-firewall"] = crlf("\nDom\xC3\xA4nenprofil-Einstellungen:\n---------\nStatus                                EIN\nOk.\n");
    CHECK(run(v, "firewall").status == Status::Unknown);
    const std::string good = netsh("ON", "ON", "ON");
    v.commands["netsh-firewall"] = good.substr(0, good.find("Public"));
    CHECK(run(v, "firewall").status == Status::Unknown);
    check_bad_inputs("firewall", &MemoryView::commands, "netsh-firewall", good, win());
    check_bad_inputs("firewall", &MemoryView::queries, "NetFirewallProfile",
                     R"([{"Name":"Domain","Enabled":1},{"Name":"Private","Enabled":1},{"Name":"Public","Enabled":1}])", win());
}

// ---- os_version -------------------------------------------------------------------

TEST_CASE("os_version windows") {
    Requirements req;
    req.min_os_version["windows"] = "10.0.19045";
    auto v = win();
    v.queries["Win32_OperatingSystem"] = R"({"Caption":"Microsoft Windows 11 Pro","Version":"10.0.22631","BuildNumber":"22631"})";
    auto r = run(v, "os_version");
    CHECK(r.status == Status::Pass);
    CHECK(r.summary == "Microsoft Windows 11 Pro 10.0.22631 is installed; no minimum Windows version is required.");
    CHECK(run(v, "os_version", req).status == Status::Pass);

    v.queries["Win32_OperatingSystem"] = R"({"Caption":"Microsoft Windows 10 Pro","Version":"10.0.19044","BuildNumber":"19044"})";
    r = run(v, "os_version", req);
    CHECK(r.status == Status::Fail);
    CHECK(text::contains_icase(r.remediation, "Windows Update"));

    // The UBR: 10.0.19045.3803 against a minimum with a revision.
    req.min_os_version["windows"] = "10.0.19045.4000";
    v.queries["Win32_OperatingSystem"] = R"({"Caption":"Microsoft Windows 10 Pro","Version":"10.0.19045"})";
    CHECK(run(v, "os_version", req).status == Status::Unknown);  // revision not known
    v.queries["WindowsCurrentVersion"] = R"({"CurrentBuild":"19045","UBR":3803})";
    r = run(v, "os_version", req);
    CHECK(r.status == Status::Fail);
    CHECK(ev_str(r, "full_version") == "10.0.19045.3803");
    v.queries["WindowsCurrentVersion"] = R"({"CurrentBuild":"19045","UBR":4170})";
    CHECK(run(v, "os_version", req).status == Status::Pass);
    // A UBR of another build is not used; a garbled one neither.
    v.queries["WindowsCurrentVersion"] = R"({"CurrentBuild":"22631","UBR":4170})";
    CHECK(run(v, "os_version", req).status == Status::Unknown);
    v.queries["WindowsCurrentVersion"] = garbage(100, 9);
    CHECK(run(v, "os_version", req).status == Status::Unknown);

    req.min_os_version["windows"] = "latest";
    CHECK(run(v, "os_version", req).status == Status::Unknown);

    v.queries["Win32_OperatingSystem"] = R"({"Caption":"Microsoft Windows 10 Pro","Version":"ten"})";
    CHECK(run(v, "os_version").status == Status::Unknown);
    check_bad_inputs("os_version", &MemoryView::queries, "Win32_OperatingSystem",
                     R"({"Caption":"Microsoft Windows 11 Pro","Version":"10.0.22631"})", win());
}

// ---- screen_lock ------------------------------------------------------------------

namespace {
std::string lock(const char* active, const char* secure, const char* timeout, const char* inactivity = "null",
                 const char* exe = "\"C:\\\\Windows\\\\system32\\\\scrnsave.scr\"", const char* policy_timeout = "null") {
    return std::string("{\"ScreenSaveActive\":") + active + ",\"ScreenSaverIsSecure\":" + secure + ",\"ScreenSaveTimeOut\":" +
           timeout + ",\"ScreenSaverExe\":" + exe + ",\"PolicyScreenSaveActive\":null,\"PolicyScreenSaverIsSecure\":null," +
           "\"PolicyScreenSaveTimeOut\":" + policy_timeout + ",\"PolicyScreenSaverExe\":null,\"InactivityTimeoutSecs\":" +
           inactivity + "}";
}
}  // namespace

TEST_CASE("screen_lock windows") {
    auto v = win();
    v.queries["ScreenLockPolicy"] = lock("\"1\"", "\"1\"", "\"600\"");
    auto r = run(v, "screen_lock");
    CHECK(r.status == Status::Pass);
    CHECK(r.summary == "The screen locks after 10 minutes of inactivity (password-protected screen saver).");

    v.queries["ScreenLockPolicy"] = lock("\"1\"", "\"1\"", "\"1800\"");
    r = run(v, "screen_lock");
    CHECK(r.status == Status::Fail);
    CHECK(r.summary == "The screen locks only after 30 minutes of inactivity; at most 15 minutes is allowed.");
    Requirements lax;
    lax.max_screen_lock_delay_s = 3600;
    CHECK(run(v, "screen_lock", lax).status == Status::Pass);

    // The policy timeout overrides the user's; the machine inactivity limit locks sooner.
    v.queries["ScreenLockPolicy"] = lock("\"1\"", "\"1\"", "\"1800\"", "null", "\"scrnsave.scr\"", "\"300\"");
    CHECK(run(v, "screen_lock").status == Status::Pass);
    v.queries["ScreenLockPolicy"] = lock("\"0\"", "\"0\"", "\"0\"", "600");
    r = run(v, "screen_lock");
    CHECK(r.status == Status::Pass);
    CHECK(ev_str(r, "lock_by") == "machine inactivity limit");

    // Not password protected, off, or no screen saver at all.
    v.queries["ScreenLockPolicy"] = lock("\"1\"", "\"0\"", "\"600\"");
    CHECK(text::contains_icase(run(v, "screen_lock").summary, "does not ask for the password"));
    v.queries["ScreenLockPolicy"] = lock("\"0\"", "\"1\"", "\"600\"");
    CHECK(run(v, "screen_lock").status == Status::Fail);
    v.queries["ScreenLockPolicy"] = lock("\"1\"", "\"1\"", "\"600\"", "null", "null");
    r = run(v, "screen_lock");
    CHECK(r.status == Status::Fail);
    CHECK(ev_str(r, "reason") == "no screen saver is set");

    // Values of the wrong kind are unreadable, not a fail.
    v.queries["ScreenLockPolicy"] = lock("\"1\"", "\"1\"", "\"ten minutes\"");
    CHECK(run(v, "screen_lock").status == Status::Unknown);
    v.queries["ScreenLockPolicy"] = R"({"Something":"else"})";
    CHECK(run(v, "screen_lock").status == Status::Unknown);
    v.queries["ScreenLockPolicy"] = utf16le(lock("\"1\"", "\"1\"", "\"600\""));
    CHECK(run(v, "screen_lock").status == Status::Pass);
    check_bad_inputs("screen_lock", &MemoryView::queries, "ScreenLockPolicy", lock("\"1\"", "\"1\"", "\"600\""), win());
}
