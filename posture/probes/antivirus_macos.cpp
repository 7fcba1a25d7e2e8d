// antivirus on macOS: Microsoft Defender for Endpoint when it is installed
// (`mdatp health`), else the built-in XProtect: its version (Info.plist) and
// the date of its last update (system_profiler's install history).
#include <algorithm>

#include "macos_parsers.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

constexpr std::string_view kXProtectPlist = "/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist";

const std::string kId = "antivirus";

CheckResult defender(const macos::DefenderHealth& h, const Requirements& req, json::Object ev) {
    ev["defender_installed"] = true;
    ev["defender_healthy"] = h.healthy;
    ev["defender_real_time_protection"] = h.real_time_protection;
    if (!h.definitions_status.empty()) ev["defender_definitions_status"] = h.definitions_status;
    if (h.definitions_minutes_ago) ev["defender_definitions_age_minutes"] = json::Value(std::int64_t(*h.definitions_minutes_ago));
    if (!h.definitions_version.empty()) ev["defender_definitions_version"] = h.definitions_version;
    if (!h.app_version.empty()) ev["defender_app_version"] = h.app_version;
    if (!h.health_issues.empty()) {
        json::Array issues;
        for (const auto& i : h.health_issues) issues.push_back(i);
        ev["defender_health_issues"] = std::move(issues);
    }
    if (!h.real_time_protection) {
        return CheckResult::fail(kId, "Microsoft Defender is installed but its real-time protection is turned off, so files are not scanned as they are opened.",
                                 "Turn real-time protection back on: open Microsoft Defender > Manage > Virus & threat "
                                 "protection settings, or run `mdatp config real-time-protection --value enabled`; if your "
                                 "organization manages it, ask your IT helpdesk.",
                                 ev);
    }
    const long long max_minutes = (long long)std::max(req.max_signature_age_days, 0) * 1440;
    const bool status_stale = !h.definitions_status.empty() && h.definitions_status != "up_to_date";
    const bool age_stale = h.definitions_minutes_ago && *h.definitions_minutes_ago > max_minutes;
    if (status_stale || age_stale) {
        ev["max_signature_age_days"] = req.max_signature_age_days;
        return CheckResult::fail(kId, "Microsoft Defender's virus definitions are out of date, so recent threats may not be detected.",
                                 "Update the definitions: run `mdatp definitions update` (the Mac needs internet access), or "
                                 "open Microsoft Defender and choose Check for updates.",
                                 ev);
    }
    if (h.definitions_status.empty() && !h.definitions_minutes_ago) {
        return CheckResult::unknown(kId, "Microsoft Defender does not say how old its virus definitions are, so it is not known whether they are up to date.",
                                    "Run `mdatp health` in Terminal and check definitions_status; send a diagnostic bundle "
                                    "to your IT helpdesk if it is missing.",
                                    ev);
    }
    if (!h.healthy) {
        return CheckResult::fail(kId, "Microsoft Defender reports that it is not healthy, so this Mac may not be protected.",
                                 "Run `mdatp health` in Terminal and fix the listed health_issues (often a missing license or "
                                 "missing Full Disk Access), or ask your IT helpdesk.",
                                 ev);
    }
    return CheckResult::pass(kId, "Microsoft Defender is running with real-time protection and up-to-date definitions.", ev);
}

// True when a process list (the processes query) shows Defender's daemon.
bool defender_daemon_in(const json::Value& procs) {
    if (!procs.is_array()) return false;
    for (const auto& p : procs.as_array()) {
        const std::string* name = p.string_at("name");
        const std::string* exe = p.string_at("exe");
        if ((name && *name == "wdavdaemon") || (exe && exe->find("/Microsoft Defender") != std::string::npos &&
                                                exe->find("wdavdaemon") != std::string::npos))
            return true;
    }
    return false;
}

}  // namespace

CheckResult antivirus_macos(const SystemView& view, const Requirements& req) {
    json::Object ev;

    // 1. Microsoft Defender for Endpoint, when installed, decides.
    const macos::Output mdatp = macos::read_command(view, "mdatp-health");
    if (mdatp.answered) {
        // `mdatp` ran: Defender is installed, and its answer must be readable.
        if (mdatp.text)
            if (const auto h = macos::parse_mdatp_health(*mdatp.text)) return defender(*h, req, ev);
        json::Object bad{{"defender_installed", true}};
        if (mdatp.text) {
            bad["mdatp_error"] = "unrecognized output";
            bad["mdatp_excerpt"] = text::excerpt(*mdatp.text);
        } else {
            bad["mdatp_error"] = json::to_valid_utf8(mdatp.error);
        }
        return CheckResult::unknown(kId, "Microsoft Defender is installed but its health report was not understood, so it is not known whether it protects this Mac.",
                                    "Run `mdatp health` in Terminal; if it shows errors, send a diagnostic bundle to your IT "
                                    "helpdesk.",
                                    std::move(bad));
    }
    ev["mdatp_error"] = json::to_valid_utf8(mdatp.error);
    if (auto procs = view.query("processes"); procs && defender_daemon_in(*procs)) {
        ev["defender_installed"] = true;
        return CheckResult::unknown(kId, "Microsoft Defender is running but `mdatp health` gave no answer, so it is not known whether it protects this Mac.",
                                    "Run `mdatp health` in Terminal; if it fails, reinstall Microsoft Defender or ask your IT "
                                    "helpdesk.",
                                    ev);
    }

    // 2. XProtect, built into macOS.
    const std::string remediation_read =
        "Open System Information > Software > Installations to see when XProtect was last updated; if this keeps "
        "happening, send a diagnostic bundle to your IT helpdesk.";
    const macos::Output plist = macos::read_file(view, kXProtectPlist);
    if (!plist.text) {
        ev["xprotect_plist_error"] = json::to_valid_utf8(plist.error);
        return CheckResult::unknown(kId, "XProtect, the malware protection built into macOS, could not be found, so this Mac's protection is not known.",
                                    remediation_read, ev);
    }
    const auto version = macos::plist_string(*plist.text, "CFBundleShortVersionString");
    if (!version) {
        ev["xprotect_plist_error"] = "no CFBundleShortVersionString in the XProtect Info.plist";
        ev["xprotect_plist_excerpt"] = text::excerpt(*plist.text);
        return CheckResult::unknown(kId, "XProtect's version could not be read, so this Mac's malware protection is not known.",
                                    remediation_read, ev);
    }
    ev["xprotect_version"] = text::excerpt(*version, 30);

    const macos::Output hist = macos::read_command(view, "xprotect-history");
    std::optional<std::vector<macos::InstallRecord>> records;
    if (!hist.text) {
        ev["install_history_error"] = json::to_valid_utf8(hist.error);
    } else if (auto doc = json::parse(*hist.text); !doc) {
        ev["install_history_error"] = json::to_valid_utf8(doc.error().message);
    } else if (records = macos::parse_xprotect_history(*doc); !records) {
        ev["install_history_error"] = "no SPInstallHistoryDataType list, or an XProtect entry without a readable date";
    }
    if (!records || records->empty()) {
        if (records) ev["install_history_error"] = "the install history holds no XProtect update";
        return CheckResult::unknown(kId, "It is not known when XProtect, the malware protection built into macOS, was last updated.",
                                    remediation_read, ev);
    }

    // The newest XProtect update of either kind; the newest signature update for the version check.
    const auto newest = std::max_element(records->begin(), records->end(),
                                         [](const auto& a, const auto& b) { return a.when < b.when; });
    const macos::InstallRecord* newest_config = nullptr;
    for (const auto& r : *records)
        if (r.name.rfind("XProtectPlistConfigData", 0) == 0 && (!newest_config || r.when > newest_config->when))
            newest_config = &r;
    const std::int64_t age_s = view.now() - newest->when;
    ev["xprotect_last_update"] = newest->date;
    ev["xprotect_last_update_name"] = newest->name;
    if (!newest->version.empty()) ev["xprotect_last_update_version"] = newest->version;
    ev["max_signature_age_days"] = req.max_signature_age_days;
    if (age_s < -86400) {
        return CheckResult::unknown(kId, "XProtect's last update is dated in the future, so this Mac's clock or its install history is wrong.",
                                    "Set the date and time automatically: System Settings > General > Date & Time.", ev);
    }
    const std::int64_t age_days = std::max<std::int64_t>(age_s, 0) / 86400;
    ev["xprotect_age_days"] = json::Value(age_days);
    if (age_s <= std::int64_t(req.max_signature_age_days) * 86400) {
        return CheckResult::pass(kId, "XProtect, the malware protection built into macOS, is up to date (version " + text::excerpt(*version, 30) + ").", ev);
    }
    // The installed signatures are newer than the newest recorded update: they
    // arrived another way (macOS 15 updates XProtect over iCloud), date unknown.
    if (newest_config && !newest_config->version.empty()) {
        if (const auto cmp = text::compare_versions(*version, newest_config->version); cmp && *cmp > 0) {
            return CheckResult::unknown(kId, "XProtect was updated after its last recorded installation, so it is not known how recent its malware signatures are.",
                                        "Run `sudo xprotect check` in Terminal (macOS 15 and later) or open System Information "
                                        "> Software > Installations, and send a diagnostic bundle to your IT helpdesk.",
                                        ev);
        }
    }
    return CheckResult::fail(kId, "XProtect, the malware protection built into macOS, was last updated " + std::to_string(age_days) +
                                      " days ago, longer than the " + std::to_string(req.max_signature_age_days) +
                                      " days allowed.",
                             "Let macOS install security updates: System Settings > General > Software Update > Automatic "
                             "Updates, turn on \"Install Security Responses and system files\", then connect to the internet; "
                             "or run `sudo softwareupdate --install --all --include-config-data`.",
                             ev);
}

}  // namespace ztna::posture::probes
