// antivirus on Linux: ClamAV (clamd and its database headers), Microsoft
// Defender for Endpoint (mdatp health), CrowdStrike Falcon (falcon-sensor and
// its reduced functionality mode) and SentinelOne (agent state).
#include <algorithm>

#include "linux_common.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

using namespace linux_detail;

const std::string kId = "antivirus";

// One product's finding: pass, fail (with its own remediation), unknown, or absent.
struct Product {
    enum class State { Absent, Pass, Fail, Unknown } state = State::Absent;
    std::string summary, remediation;
};

std::string days_text(long long d) { return std::to_string(d) + (d == 1 ? " day" : " days"); }

// The header of a ClamAV database: "ClamAV-VDB:time:version:sigs:flevel:md5:dsig:builder:stime", padded to 512 bytes.
struct CvdHeader {
    long long version = 0, sigs = 0, build_time = 0;
};
std::optional<CvdHeader> parse_cvd(std::string_view raw) {
    if (raw.substr(0, 11) != "ClamAV-VDB:") return std::nullopt;
    raw = raw.substr(0, 512);
    const auto nl = raw.find_first_of("\n\r");
    if (nl != std::string_view::npos) raw = raw.substr(0, nl);
    raw = text::trim(raw);
    std::vector<std::string_view> f;
    while (true) {
        const auto c = raw.find(':');
        f.push_back(raw.substr(0, c));
        if (c == std::string_view::npos) break;
        raw.remove_prefix(c + 1);
    }
    if (f.size() < 8) return std::nullopt;
    const auto version = text::to_int(f[2]), sigs = text::to_int(f[3]), stime = text::to_int(f.back());
    if (!version || !sigs || !stime || *stime <= 0 || *version <= 0) return std::nullopt;
    return CvdHeader{*version, *sigs, *stime};
}

struct ClamDb {
    bool present = false;  // a file exists
    std::optional<CvdHeader> header;
    std::string file;
};
ClamDb clam_db(const SystemView& view, const char* base, json::Object& ev) {
    ClamDb best;
    for (const char* ext : {".cld", ".cvd"}) {
        const std::string path = std::string("/var/lib/clamav/") + base + ext;
        auto r = view.file(path, 512);
        if (!r) continue;
        best.present = true;
        // Only the 512-byte ASCII header is read; the gzip'd tar after it never is.
        const std::string head = text::decode(*r);
        const auto h = parse_cvd(head);
        if (h && (!best.header || h->version > best.header->version)) {
            best.header = h;
            best.file = path;
        } else if (!h && best.file.empty()) {
            best.file = path;
            ev[std::string("clamav_") + base + "_excerpt"] = text::excerpt(head.substr(0, 64));
        }
    }
    return best;
}

Product clamav(const SystemView& view, const Requirements& req, const std::vector<Process>* ps, json::Object& ev) {
    Product p;
    const ClamDb daily = clam_db(view, "daily", ev);
    const ClamDb main_db = clam_db(view, "main", ev);
    const bool clamd = ps && running(*ps, "clamd");
    const bool installed = daily.header || main_db.header;
    if (!clamd && !installed) return p;
    if (!ps) {
        // Installed, but whether clamd runs cannot be told without the process list.
        ev["clamav_installed"] = true;
        p.state = Product::State::Unknown;
        p.summary = "ClamAV is installed, but the process list could not be read to tell whether its daemon (clamd) is running.";
        p.remediation = "Run the agent as root (it reads /proc), then check again.";
        return p;
    }
    json::Object c;
    c["clamd_running"] = clamd;
    const CvdHeader* newest = nullptr;
    for (const ClamDb* d : {&daily, &main_db})
        if (d->header && (!newest || d->header->build_time > newest->build_time)) newest = &*d->header;
    if (daily.header) {
        c["daily_file"] = daily.file;
        c["daily_version"] = json::Value(std::int64_t(daily.header->version));
        c["daily_build_time"] = json::Value(std::int64_t(daily.header->build_time));
    }
    if (main_db.header) {
        c["main_file"] = main_db.file;
        c["main_version"] = json::Value(std::int64_t(main_db.header->version));
    }
    long long age_days = -1;
    if (newest) {
        age_days = std::max<long long>(0, (view.now() - newest->build_time) / 86400);
        c["signature_age_days"] = json::Value(std::int64_t(age_days));
    }
    ev["clamav"] = json::Value(std::move(c));
    if (!clamd) {
        p.state = Product::State::Fail;
        p.summary = "ClamAV is installed but its scanning daemon (clamd) is not running, so files are not being checked.";
        p.remediation = "Start the ClamAV daemon: `sudo systemctl enable --now clamav-daemon` (Debian, Ubuntu) or "
                        "`sudo systemctl enable --now clamd@scan` (Fedora, RHEL).";
        return p;
    }
    if (!newest) {
        p.state = Product::State::Unknown;
        p.summary = "ClamAV is running, but the age of its signatures could not be read from /var/lib/clamav.";
        p.remediation = "Run `sudo freshclam` to download fresh signatures, then check again.";
        return p;
    }
    if (age_days > req.max_signature_age_days) {
        p.state = Product::State::Fail;
        p.summary = "ClamAV's signatures are " + days_text(age_days) + " old, older than the " +
                    days_text(req.max_signature_age_days) + " allowed.";
        p.remediation = "Update the signatures: `sudo freshclam`, and make sure the freshclam service runs "
                        "(`sudo systemctl enable --now clamav-freshclam`).";
        return p;
    }
    p.state = Product::State::Pass;
    p.summary = "ClamAV is running with signatures " + days_text(age_days) + " old.";
    return p;
}

std::string unquote(std::string v) {
    // mdatp values: "up_to_date", true, false [managed], 123
    if (const auto br = v.find(" ["); br != std::string::npos) v = v.substr(0, br);
    v = std::string(text::trim(v));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

Product defender(const SystemView& view, const Requirements& req, const std::vector<Process>* ps, json::Object& ev) {
    Product p;
    const bool daemon = ps && running(*ps, "wdavdaemon");
    const auto unreadable = [&](Product q) {
        if (daemon) {
            q.state = Product::State::Unknown;
            q.summary = "Microsoft Defender for Endpoint is running (wdavdaemon), but its health could not be read.";
            q.remediation = "Run `mdatp health` as root to see Defender's state, then check again.";
        }
        return q;
    };
    const Text t = run(view, "mdatp-health");
    if (!t.ok) {
        ev["mdatp_error"] = t.error;
        return unreadable(p);
    }
    const auto kv = text::key_value_map(t.text, ':');
    const auto get = [&](const char* k) -> std::optional<std::string> {
        const auto it = kv.find(k);
        if (it == kv.end()) return std::nullopt;
        return unquote(it->second);
    };
    const auto healthy = get("healthy"), rtp = get("real_time_protection_enabled"), defs = get("definitions_status"),
               mins = get("definitions_updated_minutes_ago"), licensed = get("licensed");
    if (!healthy || (*healthy != "true" && *healthy != "false")) {
        ev["mdatp_excerpt"] = text::excerpt(t.text);
        return unreadable(p);  // not mdatp's output
    }
    json::Object d;
    d["healthy"] = *healthy == "true";
    if (rtp) d["real_time_protection_enabled"] = *rtp == "true";
    if (defs) d["definitions_status"] = text::excerpt(*defs, 40);
    if (licensed) d["licensed"] = *licensed == "true";
    std::optional<long long> age_min;
    if (mins) age_min = text::to_int(*mins);
    if (age_min) d["definitions_updated_minutes_ago"] = json::Value(std::int64_t(*age_min));
    ev["defender"] = json::Value(std::move(d));
    const std::string remediation_health = "Run `mdatp health` to see the health issues, and ask your IT helpdesk to fix the "
                                           "Microsoft Defender for Endpoint installation (onboarding, license).";
    if (rtp && *rtp == "false") {
        p.state = Product::State::Fail;
        p.summary = "Microsoft Defender for Endpoint is installed but its real-time protection is off.";
        p.remediation = "Turn real-time protection on: `sudo mdatp config real-time-protection --value enabled` "
                        "(or ask your IT helpdesk if it is managed).";
        return p;
    }
    const bool stale_status = defs && *defs != "up_to_date";
    const bool stale_age = age_min && *age_min > (long long)req.max_signature_age_days * 1440;
    if (stale_status || stale_age) {
        p.state = Product::State::Fail;
        p.summary = "Microsoft Defender for Endpoint's definitions are out of date" +
                    (defs ? " (" + text::excerpt(*defs, 40) + ")" : std::string()) + ".";
        p.remediation = "Update the definitions: `sudo mdatp definitions update`, and check that the device can reach "
                        "Microsoft's update servers.";
        return p;
    }
    if (*healthy != "true") {
        p.state = Product::State::Fail;
        p.summary = "Microsoft Defender for Endpoint reports that it is not healthy.";
        p.remediation = remediation_health;
        return p;
    }
    if (!rtp || !defs) {
        p.state = Product::State::Unknown;
        p.summary = "Microsoft Defender for Endpoint is healthy, but its real-time protection or definitions status could not be read.";
        p.remediation = remediation_health;
        return p;
    }
    p.state = Product::State::Pass;
    p.summary = "Microsoft Defender for Endpoint is healthy, with real-time protection on and definitions up to date.";
    return p;
}

Product falcon(const SystemView& view, const std::vector<Process>* ps, json::Object& ev) {
    Product p;
    if (!ps || !running(*ps, "falcon-sensor")) return p;
    const Text t = run(view, "falconctl-rfm");
    json::Object f;
    f["falcon_sensor_running"] = true;
    std::optional<bool> rfm;
    if (t.ok) {
        for (auto line : text::lines(t.text)) {
            line = text::trim(line);
            if (line.rfind("rfm-state=true", 0) == 0) rfm = true;
            else if (line.rfind("rfm-state=false", 0) == 0) rfm = false;
        }
        if (!rfm) f["falconctl_excerpt"] = text::excerpt(t.text);
    } else {
        f["falconctl_error"] = t.error;
    }
    if (rfm) f["reduced_functionality_mode"] = *rfm;
    ev["crowdstrike"] = json::Value(std::move(f));
    if (!rfm) {
        p.state = Product::State::Unknown;
        p.summary = "CrowdStrike Falcon is running, but whether it is in reduced functionality mode could not be read.";
        p.remediation = "Run `sudo /opt/CrowdStrike/falconctl -g --rfm-state`; if it says true, update the sensor or the kernel.";
        return p;
    }
    if (*rfm) {
        p.state = Product::State::Fail;
        p.summary = "CrowdStrike Falcon runs in reduced functionality mode, so it does not detect threats.";
        p.remediation = "Update the Falcon sensor to a version that supports this kernel, or boot a supported kernel "
                        "(ask your IT helpdesk).";
        return p;
    }
    p.state = Product::State::Pass;
    p.summary = "CrowdStrike Falcon is running with full functionality.";
    return p;
}

Product sentinelone(const SystemView& view, const std::vector<Process>* ps, json::Object& ev) {
    Product p;
    if (!ps || !(running(*ps, "s1-agent") || running(*ps, "sentinelone-agent") || running(*ps, "s1-orchestrator")))
        return p;
    const Text t = run(view, "sentinelctl-status");
    json::Object s;
    s["agent_running"] = true;
    std::optional<bool> enabled;
    if (t.ok) {
        for (auto line : text::lines(t.text)) {
            line = text::trim(line);
            if (line.rfind("Agent state", 0) != 0) continue;
            const auto v = text::lower(text::trim(line.substr(11)));
            const std::string_view value = text::trim(std::string_view(v).substr(v.size() && v[0] == ':' ? 1 : 0));
            if (value == "enabled") enabled = true;
            else if (value == "disabled") enabled = false;
        }
        if (!enabled) s["sentinelctl_excerpt"] = text::excerpt(t.text);
    } else {
        s["sentinelctl_error"] = t.error;
    }
    if (enabled) s["agent_enabled"] = *enabled;
    ev["sentinelone"] = json::Value(std::move(s));
    if (!enabled) {
        p.state = Product::State::Unknown;
        p.summary = "SentinelOne is running, but its agent state could not be read.";
        p.remediation = "Run `sudo /opt/sentinelone/bin/sentinelctl control status` and check the agent state.";
        return p;
    }
    if (!*enabled) {
        p.state = Product::State::Fail;
        p.summary = "SentinelOne is installed but its agent is disabled.";
        p.remediation = "Enable the agent: `sudo /opt/sentinelone/bin/sentinelctl control start` (ask your IT helpdesk).";
        return p;
    }
    p.state = Product::State::Pass;
    p.summary = "SentinelOne is running and enabled.";
    return p;
}

}  // namespace

CheckResult antivirus_linux(const SystemView& view, const Requirements& req) {
    json::Object ev;
    std::string ps_error;
    const auto ps = processes(view, &ps_error);
    if (!ps) ev["processes_error"] = ps_error;
    const std::vector<Process>* list = ps ? &*ps : nullptr;
    const Product found[] = {clamav(view, req, list, ev), defender(view, req, list, ev), falcon(view, list, ev),
                             sentinelone(view, list, ev)};
    for (const auto& p : found)
        if (p.state == Product::State::Pass) return CheckResult::pass(kId, p.summary, std::move(ev));
    for (const auto& p : found)
        if (p.state == Product::State::Fail) return CheckResult::fail(kId, p.summary, p.remediation, std::move(ev));
    for (const auto& p : found)
        if (p.state == Product::State::Unknown) return CheckResult::unknown(kId, p.summary, p.remediation, std::move(ev));
    if (!ps) {
        return CheckResult::unknown(kId, "The running processes could not be read, so it is not known whether an antivirus is running.",
                                    "Run the agent as root so that it can read /proc, then check again.", std::move(ev));
    }
    ev["process_count"] = json::Value(std::int64_t(ps->size()));
    return CheckResult::fail(kId, "No antivirus is running on this device.",
                             "Install and start an antivirus approved by your organization (for example Microsoft Defender for "
                             "Endpoint, or ClamAV: `sudo apt install clamav-daemon` and `sudo systemctl enable --now clamav-daemon`).",
                             std::move(ev));
}

}  // namespace ztna::posture::probes
