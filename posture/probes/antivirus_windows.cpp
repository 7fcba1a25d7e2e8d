// antivirus on Windows: the products Windows Security Center knows
// (AntiVirusProduct, productState decoded) and Microsoft Defender's own
// status (Get-MpComputerStatus), which is more precise for Defender: its
// signature age is compared with req.max_signature_age_days. See
// posture/PROBES.md.
#include <optional>

#include "probes.h"
#include "text.h"
#include "windows_parsers.h"

namespace ztna::posture::probes {

namespace {

using windows::Scanner;
using windows::Signatures;

constexpr const char* kId = "antivirus";

struct Product {
    std::string name;
    std::optional<std::int64_t> state;
    Scanner scanner = Scanner::Unknown;
    Signatures signatures = Signatures::Unknown;
    bool defender = false;
    bool passive = false;  // Defender in passive / EDR block mode: another product is primary
};

enum class Mode { Normal, Passive, EdrBlock, Other };

struct Defender {
    Mode mode = Mode::Other;
    std::string mode_text;
    std::optional<bool> av_enabled, realtime;
    std::optional<std::int64_t> signature_age;
};

bool is_defender(std::string_view name) {
    return text::contains_icase(name, "Windows Defender") || text::contains_icase(name, "Microsoft Defender");
}

// Get-MpComputerStatus. Nothing when it does not say whether Defender is on.
std::optional<Defender> read_defender(const json::Value& v, std::string& why) {
    const auto inst = windows::instances(v);
    if (inst.size() != 1) {
        why = "MpComputerStatus is not one Defender status object";
        return std::nullopt;
    }
    Defender d;
    const json::Value& o = *inst[0];
    d.av_enabled = windows::bool_member(o, "AntivirusEnabled");
    d.realtime = windows::bool_member(o, "RealTimeProtectionEnabled");
    d.signature_age = windows::int_member(o, "AntivirusSignatureAge");
    if (const auto m = windows::string_member(o, "AMRunningMode")) {
        d.mode_text = text::excerpt(*m, 40);
        const std::string l = text::lower(text::trim(*m));
        if (l == "normal") d.mode = Mode::Normal;
        else if (l == "passive mode" || l == "passive" || l == "sxs passive mode") d.mode = Mode::Passive;
        else if (l == "edr block mode" || l == "edr block") d.mode = Mode::EdrBlock;
    } else if (!windows::member(o, "AMRunningMode") && d.av_enabled) {
        d.mode = Mode::Normal;  // before Defender platform 4.18.2001 there was no AMRunningMode: active
        d.mode_text = "Normal";
    }
    if (d.mode == Mode::Other) {
        why = d.mode_text.empty() ? "MpComputerStatus has no readable AMRunningMode"
                                  : "MpComputerStatus has an unknown AMRunningMode \"" + d.mode_text + "\"";
        return std::nullopt;
    }
    if (d.mode == Mode::Normal && (!d.av_enabled || !d.realtime || !d.signature_age)) {
        why = "MpComputerStatus lacks AntivirusEnabled, RealTimeProtectionEnabled or AntivirusSignatureAge";
        return std::nullopt;
    }
    return d;
}

json::Value product_json(const Product& p) {
    json::Object o;
    o["name"] = p.name;
    if (p.state) o["product_state"] = *p.state;
    o["scanner"] = p.passive ? std::string("passive") : std::string(windows::scanner_name(p.scanner));
    o["signatures"] = std::string(windows::signatures_name(p.signatures));
    return o;
}

std::string update_remediation(const std::string& name) {
    if (is_defender(name))
        return "Update Microsoft Defender: Windows Security > Virus & threat protection > Protection updates > Check for "
               "updates (or run `Update-MpSignature`), and make sure the device can reach Windows Update.";
    return "Update " + name + "'s virus signatures from its own window (usually \"Update now\"), and make sure it can "
           "reach its update server.";
}

std::string enable_remediation(const std::string& name) {
    if (is_defender(name))
        return "Turn on Microsoft Defender: Windows Security > Virus & threat protection > Manage settings > Real-time "
               "protection: On. If it is greyed out, ask your IT helpdesk.";
    return "Turn " + name + "'s real-time protection back on from its own window, or ask your IT helpdesk.";
}

}  // namespace

CheckResult antivirus_windows(const SystemView& view, const Requirements& req) {
    json::Object ev;
    const std::int64_t max_age = req.max_signature_age_days;
    ev["max_signature_age_days"] = max_age;

    // Defender's own status, when readable.
    std::optional<Defender> defender;
    const auto mp = windows::read_query(view, "MpComputerStatus");
    if (mp.value) {
        std::string why;
        defender = read_defender(*mp.value, why);
        if (!defender) ev["defender_status_error"] = why;
    } else {
        ev["defender_status_error"] = mp.error;
    }
    if (defender) {
        ev["defender_running_mode"] = defender->mode_text;
        if (defender->realtime) ev["defender_real_time_protection"] = *defender->realtime;
        if (defender->signature_age) ev["defender_signature_age_days"] = *defender->signature_age;
    }

    // Security Center's products.
    std::optional<std::vector<Product>> products;
    const auto sc = windows::read_query(view, "AntiVirusProduct");
    if (sc.value) {
        const bool empty_array = sc.value->is_array() && sc.value->as_array().empty();
        std::vector<Product> list;
        for (const json::Value* inst : windows::instances(*sc.value)) {
            Product p;
            p.name = text::excerpt(windows::string_member(*inst, "displayName").value_or(""), 80);
            p.state = windows::int_member(*inst, "productState");
            if (p.name.empty() && !p.state) continue;
            if (p.name.empty()) p.name = "an unnamed antivirus product";
            if (p.state) {
                const auto st = windows::decode_product_state(*p.state);
                p.scanner = st.scanner;
                p.signatures = st.signatures;
            }
            p.defender = is_defender(p.name);
            if (list.size() < 32) list.push_back(std::move(p));
        }
        if (!list.empty() || empty_array) products = std::move(list);
        else ev["security_center_error"] = "AntiVirusProduct lists no product with a displayName or productState";
    } else {
        ev["security_center_error"] = sc.error;
    }

    if (!products && !defender)
        return CheckResult::unknown(kId, "The antivirus status could not be read.",
                                    "Open Windows Security > Virus & threat protection to check it; if it looks fine, "
                                    "report this to your IT helpdesk with a diagnostic bundle.",
                                    std::move(ev));

    // Defender's own status replaces what Security Center says of Defender.
    std::vector<Product> list = products ? *products : std::vector<Product>{};
    if (defender) {
        bool found = false;
        for (auto& p : list)
            if (p.defender) found = true;
        if (!found) {
            Product p;
            p.name = "Microsoft Defender Antivirus";
            p.defender = true;
            list.push_back(std::move(p));
        }
        for (auto& p : list) {
            if (!p.defender) continue;
            if (defender->mode != Mode::Normal) {
                p.passive = true;
                continue;
            }
            p.scanner = (*defender->av_enabled && *defender->realtime) ? Scanner::Enabled : Scanner::Disabled;
            p.signatures = *defender->signature_age <= max_age ? Signatures::UpToDate : Signatures::OutOfDate;
        }
    }
    json::Array arr;
    for (const auto& p : list) arr.push_back(product_json(p));
    ev["products"] = std::move(arr);

    // Pass: any product on and up to date (a passive Defender is neither).
    const Product* passive_defender = nullptr;
    for (const auto& p : list)
        if (p.passive) passive_defender = &p;
    for (const auto& p : list) {
        if (p.passive || p.scanner != Scanner::Enabled || p.signatures != Signatures::UpToDate) continue;
        ev["active_product"] = p.name;
        std::string s = p.name + " is on and its signatures are up to date";
        if (p.defender && defender && defender->signature_age)
            s += *defender->signature_age == 0 ? std::string(" (updated today)")
                                               : " (" + std::to_string(*defender->signature_age) +
                                                     (*defender->signature_age == 1 ? " day" : " days") + " old)";
        if (passive_defender && !p.defender) s += "; Microsoft Defender runs in passive mode beside it";
        return CheckResult::pass(kId, s + ".", std::move(ev));
    }

    // A product in a state we cannot read might be the one that protects.
    for (const auto& p : list)
        if (!p.passive && (p.scanner == Scanner::Unknown || (p.scanner == Scanner::Enabled && p.signatures == Signatures::Unknown)))
            return CheckResult::unknown(kId, "The state of " + p.name + " could not be read, so it is not known whether it protects this device.",
                                        "Open Windows Security > Virus & threat protection to check it; if it looks "
                                        "fine, report this to your IT helpdesk with a diagnostic bundle.",
                                        std::move(ev));
    if (passive_defender && list.size() == 1)
        return CheckResult::unknown(kId, "Microsoft Defender runs in passive mode, but the antivirus product it defers to could not be read.",
                                    "Open Windows Security > Virus & threat protection to check which antivirus is "
                                    "active; report this to your IT helpdesk with a diagnostic bundle.",
                                    std::move(ev));

    for (const auto& p : list)
        if (!p.passive && p.scanner == Scanner::Enabled && p.signatures == Signatures::OutOfDate) {
            std::string s = p.name + " is on but its virus signatures are out of date";
            if (p.defender && defender && defender->signature_age)
                s += " (" + std::to_string(*defender->signature_age) + " days old; at most " + std::to_string(max_age) + " allowed)";
            return CheckResult::fail(kId, s + ".", update_remediation(p.name), std::move(ev));
        }
    for (const auto& p : list)
        if (!p.passive && p.scanner == Scanner::Disabled)
            return CheckResult::fail(kId, p.name + " is installed but turned off, so nothing scans for malware.",
                                     enable_remediation(p.name), std::move(ev));
    return CheckResult::fail(kId, "No antivirus product is registered with Windows Security.",
                             "Turn on Microsoft Defender Antivirus (Windows Security > Virus & threat protection) or "
                             "install the antivirus your organization requires.",
                             std::move(ev));
}

}  // namespace ztna::posture::probes
