// firewall on Windows: the Domain, Private and Public profiles of Windows
// Firewall must all be on. Get-NetFirewallProfile first, netsh (English)
// otherwise. See posture/PROBES.md.
#include <optional>

#include "probes.h"
#include "text.h"
#include "windows_parsers.h"

namespace ztna::posture::probes {

namespace {

constexpr const char* kId = "firewall";

struct Profiles {
    std::optional<bool> domain, private_, public_;
    bool complete() const { return domain && private_ && public_; }
};

// Enabled: true/false, 1/0, "True"/"False" (GpoBoolean 2 NotConfigured is not an answer).
Profiles from_query(const json::Value& v) {
    Profiles p;
    for (const json::Value* inst : windows::instances(v)) {
        const auto name = windows::string_member(*inst, "Name");
        const auto on = windows::bool_member(*inst, "Enabled");
        if (!name || !on) continue;
        const std::string n = text::lower(text::trim(*name));
        std::optional<bool>* slot = n == "domain" ? &p.domain : n == "private" ? &p.private_ : n == "public" ? &p.public_ : nullptr;
        if (slot && !slot->has_value()) *slot = *on;
    }
    return p;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
    return s;
}

CheckResult decide(const Profiles& p, const std::string& source, json::Object ev) {
    ev["source"] = source;
    ev["domain_profile_on"] = *p.domain;
    ev["private_profile_on"] = *p.private_;
    ev["public_profile_on"] = *p.public_;
    std::vector<std::string> off;
    if (!*p.domain) off.push_back("Domain");
    if (!*p.private_) off.push_back("Private");
    if (!*p.public_) off.push_back("Public");
    json::Array arr;
    for (const auto& o : off) arr.push_back(o);
    ev["profiles_off"] = std::move(arr);
    if (off.empty())
        return CheckResult::pass(kId, "Windows Firewall is on for the Domain, Private and Public networks.", std::move(ev));
    return CheckResult::fail(kId, "Windows Firewall is off for the " + join(off) + (off.size() == 1 ? " profile" : " profiles") +
                                      ", so this device accepts unsolicited connections on those networks.",
                             "Turn it back on: Windows Security > Firewall & network protection > choose each network "
                             "marked off > Microsoft Defender Firewall: On, or run `netsh advfirewall set allprofiles "
                             "state on` as administrator.",
                             std::move(ev));
}

}  // namespace

CheckResult firewall_windows(const SystemView& view, const Requirements&) {
    json::Object ev;
    const auto q = windows::read_query(view, "NetFirewallProfile");
    if (q.value) {
        const Profiles p = from_query(*q.value);
        if (p.complete()) return decide(p, "NetFirewallProfile", std::move(ev));
        ev["net_firewall_profile_error"] = "NetFirewallProfile does not give an on/off state for all of Domain, Private and Public";
    } else {
        ev["net_firewall_profile_error"] = q.error;
    }
    const auto out = windows::read_command(view, "netsh-firewall");
    if (out.text) {
        if (const auto n = windows::parse_netsh_allprofiles_state(*out.text)) {
            Profiles p{n->domain, n->private_, n->public_};
            return decide(p, "netsh", std::move(ev));
        }
        ev["netsh_error"] = "netsh output does not show the state of all three profiles (English output is read): \"" +
                            text::excerpt(*out.text, 80) + "\"";
    } else {
        ev["netsh_error"] = out.error;
    }
    return CheckResult::unknown(kId, "The state of Windows Firewall could not be read.",
                                "Open Windows Security > Firewall & network protection to check that every network "
                                "shows \"Firewall is on\", and report this to your IT helpdesk with a diagnostic bundle.",
                                std::move(ev));
}

}  // namespace ztna::posture::probes
