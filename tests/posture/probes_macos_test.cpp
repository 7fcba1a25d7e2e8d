// The macOS probes and their parsers, on in-memory views: every state each
// tool reports, and every kind of bad input (missing, empty, truncated,
// garbled, enormous, UTF-16) -> unknown with a reason, never pass.
#include <doctest/doctest.h>

#include <random>

#include "engine.h"
#include "macos_parsers.h"
#include "memory_view.h"
#include "text.h"

using namespace ztna;
using namespace ztna::posture;

namespace {

constexpr std::int64_t kNow = 1742472000;  // 2025-03-20T12:00:00Z
constexpr std::int64_t kDay = 86400;
constexpr const char* kXProtectPlist = "/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist";

MemoryView mac() { return MemoryView(Platform::Macos, kNow); }

CheckResult run(const MemoryView& v, std::string_view id, const Requirements& req = {}) { return evaluate_one(v, req, id); }

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

std::string plist(std::string_view version) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
           "<plist version=\"1.0\">\n<dict>\n\t<key>CFBundleName</key>\n\t<string>XProtect</string>\n"
           "\t<key>CFBundleShortVersionString</key>\n\t<string>" +
           std::string(version) + "</string>\n</dict>\n</plist>\n";
}

std::string iso(std::int64_t t) {
    // Only for the dates the tests use (2025).
    std::int64_t days = t / kDay, secs = t % kDay;
    int y = 1970;
    auto leap = [](int yy) { return (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0; };
    while (days >= (leap(y) ? 366 : 365)) days -= leap(y) ? 366 : 365, ++y;
    const int mdays[] = {31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int m = 0;
    while (days >= mdays[m]) days -= mdays[m], ++m;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m + 1, int(days + 1), int(secs / 3600),
                  int(secs / 60 % 60), int(secs % 60));
    return buf;
}

std::string history(std::string_view name, std::int64_t when, std::string_view version) {
    return "{\n  \"SPInstallHistoryDataType\" : [\n    {\n      \"_name\" : \"macOS 14.4\",\n      \"install_date\" : \"" +
           iso(kNow - 300 * kDay) +
           "\",\n      \"install_version\" : \"14.4\",\n      \"package_source\" : \"package_source_apple\"\n    },\n"
           "    {\n      \"_name\" : \"" +
           std::string(name) + "\",\n      \"install_date\" : \"" + iso(when) + "\",\n      \"install_version\" : \"" +
           std::string(version) + "\",\n      \"package_source\" : \"package_source_apple\"\n    }\n  ]\n}\n";
}

std::string mdatp(std::string_view rtp, std::string_view status, long long minutes, std::string_view healthy = "true",
                  std::string_view issues = "[]") {
    return "healthy                                     : " + std::string(healthy) +
           "\nhealth_issues                               : " + std::string(issues) +
           "\nlicensed                                    : true\n"
           "app_version                                 : \"101.25012.0013\"\n"
           "product_expiration                          : Feb 12, 2026 at 09:24:40 PM\n"
           "real_time_protection_enabled                : " +
           std::string(rtp) +
           "\ndefinitions_updated                         : Mar 19, 2025 at 11:01:32 AM\n"
           "definitions_updated_minutes_ago             : " +
           std::to_string(minutes) +
           "\ndefinitions_version                         : \"1.425.171.0\"\n"
           "definitions_status                          : " +
           std::string(status) + "\n";
}

// Every kind of bad content for one command: the probe says unknown, with a
// reason in its evidence and a remediation.
void bad_inputs_are_unknown(MemoryView base, std::string_view id, std::string key, std::string_view reason_key) {
    const std::string good = base.commands[key];
    const std::pair<const char*, std::optional<std::string>> kinds[] = {
        {"missing", std::nullopt},
        {"empty", std::string()},
        {"blank", std::string(" \n\t\n")},
        {"truncated", good.substr(0, 7)},
        {"garbled", garbage(512, 3)},
        {"nul bytes", std::string(256, '\0')},
        {"enormous", enormous("lorem ipsum dolor sit amet\n")},
        {"utf-16 garbage", std::string("\xFF\xFE\x41\xD8\x00\xDC\x00\x00\x42\x00", 10)},
        {"json", std::string("{}")},
        {"null", std::string("null")},
    };
    for (const auto& [kind, content] : kinds) {
        CAPTURE(kind);
        MemoryView v = base;
        if (content) v.commands[key] = *content;
        else v.commands.erase(key);
        const auto r = run(v, id);
        CHECK(r.status == Status::Unknown);
        CHECK(!r.remediation.empty());
        CHECK(ev(r, reason_key) != nullptr);
    }
    // The same good output as UTF-16LE with a BOM decides the same way.
    MemoryView u = base;
    u.commands[key] = utf16le(good);
    CHECK(json::dump(to_json(run(u, id))) == json::dump(to_json(run(base, id))));
}

}  // namespace

// ---------------------------------------------------------------------------
TEST_CASE("macos fdesetup status: every state") {
    using S = macos::FileVaultState;
    auto p = [](std::string_view s) { return macos::parse_fdesetup_status(s); };
    CHECK(p("FileVault is On.\n")->state == S::On);
    CHECK(p("FileVault is On.\nFileVault master keychain appears to be installed.\n")->state == S::On);
    CHECK(p("FileVault is Off.\n")->state == S::Off);
    CHECK(p("FileVault is Off.\nDeferred enablement appears to be active for user 'jappleseed'.\n")->state == S::Deferred);
    CHECK(p("FileVault is Off.\nDeferred enablement appears to be active.\n")->state == S::Deferred);
    CHECK(p("FileVault is Off, but will be enabled after the next restart.\n")->state == S::Deferred);
    const auto enc = p("FileVault is On.\nEncryption in progress: Percent completed = 42\n");
    REQUIRE(enc);
    CHECK(enc->state == S::Encrypting);
    CHECK(enc->percent == 42);
    CHECK(p("Encryption in progress: Percent completed = 7.53\n")->percent == 7);
    const auto dec = p("FileVault is Off.\nDecryption in progress: Percent completed = 30\n");
    REQUIRE(dec);
    CHECK(dec->state == S::Decrypting);
    CHECK(dec->percent == 30);
    CHECK(p("FileVault is On.\nEncryption paused: Percent completed = 12\n")->state == S::EncryptionPaused);
    CHECK(!p("Encryption in progress: Percent completed = 420\n")->percent);  // not a percentage
    CHECK(!p(""));
    CHECK(!p("fdesetup: command not found\n"));
    CHECK(!p("FileVault is On.\nFileVault is Off.\n"));  // contradicts itself
    CHECK(!p("Error: Unable to determine status.\n"));
}

TEST_CASE("macos disk_encryption probe: decisions and bad input") {
    MemoryView v = mac();
    v.commands["fdesetup-status"] = "FileVault is On.\n";
    auto r = run(v, "disk_encryption");
    CHECK(r.status == Status::Pass);
    CHECK(ev(r, "filevault_state")->as_string() == "on");

    v.commands["fdesetup-status"] = "FileVault is Off.\n";
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Fail);
    CHECK(r.remediation.find("fdesetup enable") != std::string::npos);

    v.commands["fdesetup-status"] = "FileVault is Off.\nDeferred enablement appears to be active for user 'jappleseed'.\n";
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("next logout") != std::string::npos);
    CHECK(*ev(r, "deferred_enablement") == json::Value(true));
    CHECK(json::dump(json::Value(r.evidence)).find("jappleseed") == std::string::npos);  // no user name kept

    v.commands["fdesetup-status"] = "FileVault is On.\nEncryption in progress: Percent completed = 42\n";
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("42%") != std::string::npos);
    CHECK(r.summary.find("passes once encryption is complete") != std::string::npos);
    CHECK(*ev(r, "percent_completed") == json::Value(42));

    v.commands["fdesetup-status"] = "FileVault is Off.\nDecryption in progress: Percent completed = 30\n";
    r = run(v, "disk_encryption");
    CHECK(r.status == Status::Fail);
    CHECK(ev(r, "filevault_state")->as_string() == "decrypting");

    MemoryView good = mac();
    good.commands["fdesetup-status"] = "FileVault is On.\n";
    bad_inputs_are_unknown(good, "disk_encryption", "fdesetup-status", "fdesetup_error");
    // Half of "FileVault is On." is not a status.
    good.commands["fdesetup-status"] = "FileVault is";
    CHECK(run(good, "disk_encryption").status == Status::Unknown);
}

// ---------------------------------------------------------------------------
TEST_CASE("macos profiles status -type enrollment: every state") {
    auto p = [](std::string_view s) { return macos::parse_profiles_enrollment(s); };
    auto e = p("Enrolled via DEP: Yes\nMDM enrollment: Yes (User Approved)\nMDM server: https://mdm.example.com/mdm/apple/mdm?token=x\n");
    REQUIRE(e);
    CHECK(e->dep);
    CHECK(e->mdm);
    CHECK(e->user_approved);
    CHECK(e->server_host == "mdm.example.com");  // never the path or query
    e = p("Enrolled via DEP: No\nMDM enrollment: Yes\n");
    REQUIRE(e);
    CHECK(!e->dep);
    CHECK(e->mdm);
    CHECK(!e->user_approved);
    e = p("Enrolled via DEP: No\nMDM enrollment: No\n");
    REQUIRE(e);
    CHECK(!e->mdm);
    CHECK(!p("Enrolled via DEP: Yes\n"));  // no MDM line: cannot tell
    CHECK(!p("MDM enrollment: perhaps\n"));
    CHECK(!p("profiles: this command requires root\n"));
}

TEST_CASE("macos managed_device probe: decisions and bad input") {
    MemoryView v = mac();
    v.commands["profiles-enrollment"] = "Enrolled via DEP: Yes\nMDM enrollment: Yes (User Approved)\nMDM server: https://mdm.example.com/mdm\n";
    auto r = run(v, "managed_device");
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "enrolled_via_dep") == json::Value(true));
    CHECK(*ev(r, "user_approved") == json::Value(true));

    v.commands["profiles-enrollment"] = "Enrolled via DEP: No\nMDM enrollment: Yes\n";
    r = run(v, "managed_device");
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "user_approved") == json::Value(false));
    CHECK(r.summary.find("not user approved") != std::string::npos);

    v.commands["profiles-enrollment"] = "Enrolled via DEP: No\nMDM enrollment: No\n";
    r = run(v, "managed_device");
    CHECK(r.status == Status::Fail);
    CHECK(*ev(r, "mdm_enrolled") == json::Value(false));

    v.commands["profiles-enrollment"] = "Enrolled via DEP: Yes\nMDM enrollment: No\n";
    r = run(v, "managed_device");
    CHECK(r.status == Status::Fail);
    CHECK(r.remediation.find("profiles renew") != std::string::npos);

    MemoryView good = mac();
    good.commands["profiles-enrollment"] = "Enrolled via DEP: Yes\nMDM enrollment: Yes (User Approved)\n";
    bad_inputs_are_unknown(good, "managed_device", "profiles-enrollment", "profiles_error");
}

// ---------------------------------------------------------------------------
TEST_CASE("macos socketfilterfw: states and stealth mode") {
    CHECK(macos::parse_socketfilterfw_state("Firewall is enabled. (State = 1)\n") == 1);
    CHECK(macos::parse_socketfilterfw_state("Firewall is disabled. (State = 0)\n") == 0);
    CHECK(macos::parse_socketfilterfw_state("Firewall is enabled. (State = 2)\n") == 2);
    CHECK(macos::parse_socketfilterfw_state("Firewall is blocking all non-essential incoming connections. (State = 2)\n") == 2);
    CHECK(!macos::parse_socketfilterfw_state("Firewall is disabled. (State = 1)\n"));  // words and number disagree
    CHECK(!macos::parse_socketfilterfw_state("Firewall is enabled. (State = 7)\n"));
    CHECK(!macos::parse_socketfilterfw_state("Firewall is enabled. (State = 1\n"));
    CHECK(!macos::parse_socketfilterfw_state("socketfilterfw: permission denied\n"));
    CHECK(macos::parse_socketfilterfw_stealth("Stealth mode enabled\n") == true);
    CHECK(macos::parse_socketfilterfw_stealth("Firewall stealth mode is off\n") == false);
    CHECK(!macos::parse_socketfilterfw_stealth("whatever\n"));
}

TEST_CASE("macos firewall probe: decisions and bad input") {
    MemoryView v = mac();
    v.commands["socketfilterfw-state"] = "Firewall is enabled. (State = 1)\n";
    auto r = run(v, "firewall");
    CHECK(r.status == Status::Pass);
    CHECK(ev(r, "stealth_mode") == nullptr);  // not read: absent, not false
    v.commands["socketfilterfw-stealth"] = "Firewall stealth mode is on\n";
    r = run(v, "firewall");
    CHECK(*ev(r, "stealth_mode") == json::Value(true));

    v.commands["socketfilterfw-state"] = "Firewall is blocking all non-essential incoming connections. (State = 2)\n";
    r = run(v, "firewall");
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "block_all_incoming") == json::Value(true));

    v.commands["socketfilterfw-state"] = "Firewall is disabled. (State = 0)\n";
    r = run(v, "firewall");
    CHECK(r.status == Status::Fail);
    CHECK(*ev(r, "firewall_enabled") == json::Value(false));
    // Garbage stealth output changes nothing.
    v.commands["socketfilterfw-stealth"] = garbage(100, 9);
    CHECK(run(v, "firewall").status == Status::Fail);

    MemoryView good = mac();
    good.commands["socketfilterfw-state"] = "Firewall is enabled. (State = 1)\n";
    bad_inputs_are_unknown(good, "firewall", "socketfilterfw-state", "socketfilterfw_error");
}

// ---------------------------------------------------------------------------
TEST_CASE("macos sw_vers: both layouts") {
    auto s = macos::parse_sw_vers("ProductName:\t\tmacOS\nProductVersion:\t\t14.2.1\nBuildVersion:\t\t23C71\n");
    REQUIRE(s);
    CHECK(s->product_name == "macOS");
    CHECK(s->product_version == "14.2.1");
    CHECK(s->build_version == "23C71");
    s = macos::parse_sw_vers("ProductName:\tMac OS X\nProductVersion:\t10.15.7\nBuildVersion:\t19H2026\n");
    REQUIRE(s);
    CHECK(s->product_name == "Mac OS X");
    CHECK(s->product_version == "10.15.7");
    s = macos::parse_sw_vers("ProductName:\t\tmacOS\nProductVersion:\t\t13.4.1\nProductVersionExtra:\t(c)\nBuildVersion:\t\t22F770820d\n");
    REQUIRE(s);
    CHECK(s->product_version == "13.4.1");
    CHECK(s->version_extra == "(c)");
    CHECK(!macos::parse_sw_vers("ProductName:\t\tmacOS\nBuildVersion:\t\t23C71\n"));
    CHECK(!macos::parse_sw_vers("ProductName:\t\tmacOS\nProductVersion:\t\tfourteen\n"));
    CHECK(!macos::parse_sw_vers("ProductName:\t\tUbuntu\nProductVersion:\t\t22.04\n"));
}

TEST_CASE("macos os_version probe: minimum, none, bad minimum, bad input") {
    MemoryView v = mac();
    v.commands["sw_vers"] = "ProductName:\t\tmacOS\nProductVersion:\t\t13.6.4\nBuildVersion:\t\t22G513\n";
    auto r = run(v, "os_version");
    CHECK(r.status == Status::Pass);
    CHECK(r.summary.find("no minimum") != std::string::npos);

    Requirements req;
    req.min_os_version["macos"] = "14.0";
    r = run(v, "os_version", req);
    CHECK(r.status == Status::Fail);
    CHECK(ev(r, "min_version")->as_string() == "14.0");
    req.min_os_version["macos"] = "13.6.4";
    CHECK(run(v, "os_version", req).status == Status::Pass);
    req.min_os_version["macos"] = "13.6.5";
    CHECK(run(v, "os_version", req).status == Status::Fail);
    req.min_os_version["macos"] = "latest";
    CHECK(run(v, "os_version", req).status == Status::Unknown);
    req.min_os_version = {{"ubuntu", "24.04"}};  // another OS's minimum does not apply
    CHECK(run(v, "os_version", req).status == Status::Pass);

    bad_inputs_are_unknown(v, "os_version", "sw_vers", "sw_vers_error");
}

// ---------------------------------------------------------------------------
TEST_CASE("macos XProtect parsers: plist, dates, install history") {
    CHECK(macos::plist_string(plist("5291"), "CFBundleShortVersionString") == "5291");
    CHECK(!macos::plist_string(plist("5291"), "CFBundleVersion"));
    CHECK(!macos::plist_string("bplist00\x01\x02", "CFBundleShortVersionString"));
    CHECK(!macos::plist_string("<plist><dict><key>CFBundleShortVersionString</key><integer>5</integer></dict></plist>",
                               "CFBundleShortVersionString"));
    CHECK(macos::parse_iso8601_utc("2025-03-20T12:00:00Z") == kNow);
    CHECK(macos::parse_iso8601_utc("1970-01-01T00:00:00Z") == 0);
    CHECK(macos::parse_iso8601_utc("2024-02-29T00:00:00Z") == 1709164800);
    CHECK(!macos::parse_iso8601_utc("2025-03-20 12:00:00 +0000"));
    CHECK(!macos::parse_iso8601_utc("2025-13-20T12:00:00Z"));

    auto doc = json::parse(history("XProtectPlistConfigData", kNow - 2 * kDay, "5291"));
    REQUIRE(doc);
    auto recs = macos::parse_xprotect_history(*doc);
    REQUIRE(recs);
    REQUIRE(recs->size() == 1);
    CHECK((*recs)[0].version == "5291");
    CHECK((*recs)[0].when == kNow - 2 * kDay);
    auto empty = json::parse("{\"SPInstallHistoryDataType\": []}");
    CHECK(macos::parse_xprotect_history(*empty)->empty());
    CHECK(!macos::parse_xprotect_history(*json::parse("{}")));
    CHECK(!macos::parse_xprotect_history(*json::parse("null")));
    CHECK(!macos::parse_xprotect_history(
        *json::parse("{\"SPInstallHistoryDataType\": [{\"_name\": \"XProtectPayloads\", \"install_date\": \"soon\"}]}")));
}

TEST_CASE("macos antivirus probe: XProtect fresh, stale, updated elsewhere, unreadable") {
    MemoryView v = mac();
    v.files[kXProtectPlist] = plist("5291");
    v.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 2 * kDay, "5291");
    auto r = run(v, "antivirus");
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "xprotect_age_days") == json::Value(std::int64_t(2)));
    CHECK(ev(r, "xprotect_version")->as_string() == "5291");

    // Exactly at the limit still passes; one second more fails.
    v.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 7 * kDay, "5291");
    CHECK(run(v, "antivirus").status == Status::Pass);
    v.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 7 * kDay - 1, "5291");
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(r.remediation.find("Software Update") != std::string::npos);
    Requirements lax;
    lax.max_signature_age_days = 30;
    CHECK(run(v, "antivirus", lax).status == Status::Pass);

    // The bundle is newer than anything recorded: updated another way (iCloud on macOS 15), date unknown.
    v.files[kXProtectPlist] = plist("5300");
    v.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 40 * kDay, "5291");
    CHECK(run(v, "antivirus").status == Status::Unknown);
    // ... but a recent record is enough to pass.
    v.commands["xprotect-history"] = history("XProtectPayloads", kNow - 1 * kDay, "149");
    CHECK(run(v, "antivirus").status == Status::Pass);

    // A date in the future: the clock or the history is wrong.
    v.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow + 30 * kDay, "5300");
    CHECK(run(v, "antivirus").status == Status::Unknown);

    // No XProtect update recorded at all.
    v.commands["xprotect-history"] = "{\n  \"SPInstallHistoryDataType\" : [\n  ]\n}\n";
    r = run(v, "antivirus");
    CHECK(r.status == Status::Unknown);
    CHECK(ev(r, "install_history_error") != nullptr);

    MemoryView good = mac();
    good.files[kXProtectPlist] = plist("5291");
    good.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 2 * kDay, "5291");
    bad_inputs_are_unknown(good, "antivirus", "xprotect-history", "install_history_error");
    // The Info.plist missing, empty, binary or garbled.
    for (const std::optional<std::string>& content :
         {std::optional<std::string>(), std::optional<std::string>(""), std::optional<std::string>(garbage(300, 5)),
          std::optional<std::string>("bplist00" + garbage(40, 6)), std::optional<std::string>(enormous("<plist>"))}) {
        MemoryView b = good;
        if (content) b.files[kXProtectPlist] = *content;
        else b.files.erase(kXProtectPlist);
        r = run(b, "antivirus");
        CHECK(r.status == Status::Unknown);
        CHECK(ev(r, "xprotect_plist_error") != nullptr);
    }
}

TEST_CASE("macos mdatp health parser") {
    auto h = macos::parse_mdatp_health(mdatp("true", "\"up_to_date\"", 95, "false", "[\"no active event provider\", \"missing license\"]"));
    REQUIRE(h);
    CHECK(!h->healthy);
    CHECK(h->real_time_protection);
    CHECK(h->definitions_status == "up_to_date");
    CHECK(h->definitions_minutes_ago == 95);
    CHECK(h->health_issues == std::vector<std::string>{"no active event provider", "missing license"});
    CHECK(!macos::parse_mdatp_health("healthy : maybe\nreal_time_protection_enabled : true\n"));
    CHECK(!macos::parse_mdatp_health("healthy : true\n"));
    CHECK(!macos::parse_mdatp_health("ATTENTION: No license found. Contact your administrator for help.\n"));
}

TEST_CASE("macos antivirus probe: Microsoft Defender decides when installed") {
    MemoryView v = mac();
    v.files[kXProtectPlist] = plist("5291");
    v.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 40 * kDay, "5291");  // stale XProtect
    v.commands["mdatp-health"] = mdatp("true", "\"up_to_date\"", 95);
    auto r = run(v, "antivirus");
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "defender_installed") == json::Value(true));

    v.commands["mdatp-health"] = mdatp("false", "\"up_to_date\"", 95);
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(r.remediation.find("real-time-protection") != std::string::npos);

    v.commands["mdatp-health"] = mdatp("true", "\"unavailable\"", 95);
    CHECK(run(v, "antivirus").status == Status::Fail);
    v.commands["mdatp-health"] = mdatp("true", "\"up_to_date\"", 8 * 1440);
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("out of date") != std::string::npos);
    v.commands["mdatp-health"] = mdatp("true", "\"up_to_date\"", 95, "false", "[\"missing license\"]");
    r = run(v, "antivirus");
    CHECK(r.status == Status::Fail);
    CHECK(ev(r, "defender_health_issues")->as_array().size() == 1);

    // Installed but its answer unreadable: unknown, whatever XProtect says.
    MemoryView good = mac();
    good.files[kXProtectPlist] = plist("5291");
    good.commands["xprotect-history"] = history("XProtectPlistConfigData", kNow - 1 * kDay, "5291");
    good.commands["mdatp-health"] = mdatp("true", "\"up_to_date\"", 95);
    for (const std::string& bad : {std::string("garbage: here\n"), garbage(400, 11), enormous("lorem ipsum\n"), std::string("{}")}) {
        MemoryView b = good;
        b.commands["mdatp-health"] = bad;
        CHECK(run(b, "antivirus").status == Status::Unknown);
    }
    MemoryView u = good;
    u.commands["mdatp-health"] = utf16le(good.commands["mdatp-health"]);
    CHECK(json::dump(to_json(run(u, "antivirus"))) == json::dump(to_json(run(good, "antivirus"))));

    // mdatp gave no answer but its daemon runs: unknown; no daemon: XProtect decides.
    MemoryView d = good;
    d.commands.erase("mdatp-health");
    d.queries["processes"] = R"([{"pid": 1, "name": "launchd", "exe": "/sbin/launchd"},
        {"pid": 412, "name": "wdavdaemon", "exe": "/Library/Application Support/Microsoft/Defender/wdavdaemon.app/Contents/MacOS/wdavdaemon"}])";
    CHECK(run(d, "antivirus").status == Status::Unknown);
    d.queries["processes"] = R"([{"pid": 1, "name": "launchd", "exe": "/sbin/launchd"}])";
    CHECK(run(d, "antivirus").status == Status::Pass);
    d.queries["processes"] = "{}";
    CHECK(run(d, "antivirus").status == Status::Pass);
}

// ---------------------------------------------------------------------------
TEST_CASE("macos screen lock parsers") {
    auto s = [](std::string_view t) { return macos::parse_sysadminctl_screenlock(t); };
    CHECK(s("2025-03-20 11:58:03.512 sysadminctl[48213:1871002] screenLock delay is immediate\n") == 0);
    CHECK(s("2025-03-20 11:58:03.512 sysadminctl[48213:1871002] screenLock delay is 300 seconds\n") == 300);
    CHECK(s("screenLock delay is 5 seconds") == 5);
    CHECK(s("2025-03-20 11:58:03.512 sysadminctl[48213:1871002] screenLock is off\n") == -1);
    CHECK(s("screenLock delay is -1.000000 seconds\n") == -1);
    CHECK(!s("screenLock delay is soon\n"));
    CHECK(!s("screenLock delay is 300 minutes\n"));
    CHECK(!s("screenLock delay is 1.5 seconds\n"));
    CHECK(!s("screenLock is off\nscreenLock delay is 5 seconds\n"));
    CHECK(!s("sysadminctl: unrecognized option\n"));
    CHECK(macos::parse_defaults_int("600\n") == 600);
    CHECK(macos::parse_defaults_int("0") == 0);
    CHECK(!macos::parse_defaults_int("-5"));
    CHECK(!macos::parse_defaults_int("600 seconds"));
    CHECK(!macos::parse_defaults_int(
        "The domain/default pair of (com.apple.screensaver, idleTime) does not exist\n"));
    const std::string pm =
        "System-wide power settings:\nCurrently in use:\n standby              1\n disksleep            10\n"
        " sleep                1 (sleep prevented by sharingd, powerd)\n displaysleep         10\n womp                 0\n";
    CHECK(macos::parse_pmset_displaysleep(pm) == 10);
    CHECK(macos::parse_pmset_displaysleep("Currently in use:\n displaysleep         2 (display sleep prevented by zoom.us)\n") == 2);
    CHECK(!macos::parse_pmset_displaysleep(" displaysleep 10\n"));              // no pmset header
    CHECK(!macos::parse_pmset_displaysleep("Currently in use:\n sleep 1\n"));   // no displaysleep line
    CHECK(!macos::parse_pmset_displaysleep("Currently in use:\n displaysleep ten\n"));
}

namespace {
MemoryView lock_view(std::string_view sysadminctl, std::string_view idle, int displaysleep_min) {
    MemoryView v = mac();
    v.commands["sysadminctl-screenlock"] = "2025-03-20 11:58:03.512 sysadminctl[48213:1871002] " + std::string(sysadminctl) + "\n";
    v.commands["console-user"] = "jappleseed\n";
    v.commands["screensaver-idle@jappleseed"] = std::string(idle) + "\n";
    v.commands["pmset-settings"] = "System-wide power settings:\nCurrently in use:\n displaysleep         " +
                                   std::to_string(displaysleep_min) + "\n";
    return v;
}
}  // namespace

TEST_CASE("macos screen_lock probe: decisions") {
    auto r = run(lock_view("screenLock delay is immediate", "300", 10), "screen_lock");
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "lock_after_s") == json::Value(300));

    r = run(lock_view("screenLock delay is 300 seconds", "1200", 10), "screen_lock");  // display sleeps first: 600 + 300
    CHECK(r.status == Status::Pass);
    CHECK(*ev(r, "lock_after_s") == json::Value(900));

    r = run(lock_view("screenLock delay is 300 seconds", "1200", 20), "screen_lock");  // 1200 + 300 > 900
    CHECK(r.status == Status::Fail);
    CHECK(*ev(r, "lock_after_s") == json::Value(1500));
    Requirements lax;
    lax.max_screen_lock_delay_s = 1800;
    CHECK(run(lock_view("screenLock delay is 300 seconds", "1200", 20), "screen_lock", lax).status == Status::Pass);

    r = run(lock_view("screenLock is off", "60", 1), "screen_lock");
    CHECK(r.status == Status::Fail);
    CHECK(*ev(r, "screen_lock_enabled") == json::Value(false));

    r = run(lock_view("screenLock delay is immediate", "0", 0), "screen_lock");  // never idles
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("never") != std::string::npos);

    // Display sleep unreadable, but the screen saver alone locks in time: pass (it can only be earlier).
    MemoryView v = lock_view("screenLock delay is immediate", "300", 10);
    v.commands.erase("pmset-settings");
    CHECK(run(v, "screen_lock").status == Status::Pass);
    // ... too late by the screen saver, display sleep unknown: unknown, not fail.
    v = lock_view("screenLock delay is immediate", "1800", 10);
    v.commands["pmset-settings"] = "garbage";
    r = run(v, "screen_lock");
    CHECK(r.status == Status::Unknown);
    CHECK(ev(r, "pmset_error") != nullptr);
    // Nobody signed in at the console: the screen saver cannot be read; display sleep alone decides if it can.
    v = lock_view("screenLock delay is immediate", "300", 10);
    v.commands["console-user"] = "root\n";
    r = run(v, "screen_lock");
    CHECK(r.status == Status::Pass);
    CHECK(ev(r, "console_user_error") != nullptr);
    v.commands["pmset-settings"] = "System-wide power settings:\nCurrently in use:\n displaysleep         0\n";
    CHECK(run(v, "screen_lock").status == Status::Unknown);
    // A console "user" that is not a name is never passed to sudo.
    v.commands["console-user"] = "-u root\n";
    r = run(v, "screen_lock");
    CHECK(r.status == Status::Unknown);
    CHECK(ev(r, "console_user_error") != nullptr);
}

TEST_CASE("macos screen_lock probe: bad input") {
    const MemoryView good = lock_view("screenLock delay is immediate", "300", 10);
    bad_inputs_are_unknown(good, "screen_lock", "sysadminctl-screenlock", "sysadminctl_error");
    // Both idle sources bad in the same way: unknown.
    for (const std::string& bad : {std::string(), garbage(200, 21), enormous("lorem ipsum\n"), std::string("{}")}) {
        MemoryView v = good;
        v.commands["screensaver-idle@jappleseed"] = bad;
        v.commands["pmset-settings"] = bad;
        const auto r = run(v, "screen_lock");
        CHECK(r.status == Status::Unknown);
        CHECK(ev(r, "screensaver_error") != nullptr);
        CHECK(ev(r, "pmset_error") != nullptr);
    }
    MemoryView u = good;
    for (auto& [key, content] : u.commands) content = utf16le(content);
    CHECK(json::dump(to_json(run(u, "screen_lock"))) == json::dump(to_json(run(good, "screen_lock"))));
}
