// firewall on macOS: the Application Firewall, from socketfilterfw.
#include "macos_parsers.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

CheckResult firewall_macos(const SystemView& view, const Requirements&) {
    const std::string id = "firewall";
    const std::string remediation_read =
        "Run `/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate` in Terminal to see the firewall's state; "
        "if it fails, send a diagnostic bundle to your IT helpdesk.";
    const macos::Output out = macos::read_command(view, "socketfilterfw-state");
    if (!out.text) {
        return CheckResult::unknown(id, "The macOS firewall's state could not be read, so it is not known whether it is on.",
                                    remediation_read, {{"socketfilterfw_error", json::to_valid_utf8(out.error)}});
    }
    const auto state = macos::parse_socketfilterfw_state(*out.text);
    if (!state) {
        return CheckResult::unknown(id, "The macOS firewall's state was not understood, so it is not known whether it is on.",
                                    remediation_read,
                                    {{"socketfilterfw_error", "unrecognized output"},
                                     {"socketfilterfw_excerpt", text::excerpt(*out.text)}});
    }
    json::Object ev{{"firewall_state", *state}, {"firewall_enabled", *state != 0}};
    if (*state == 2) ev["block_all_incoming"] = true;
    // Stealth mode is evidence only: it does not change the decision.
    const macos::Output stealth = macos::read_command(view, "socketfilterfw-stealth");
    if (stealth.text) {
        if (const auto s = macos::parse_socketfilterfw_stealth(*stealth.text)) ev["stealth_mode"] = *s;
    }
    if (*state == 0) {
        return CheckResult::fail(id, "The macOS firewall is off, so apps on this Mac accept connections from the network.",
                                 "Turn on the firewall: System Settings > Network > Firewall, or run `sudo "
                                 "/usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on`.",
                                 ev);
    }
    if (*state == 2)
        return CheckResult::pass(id, "The macOS firewall is on and blocks all incoming connections.", ev);
    return CheckResult::pass(id, "The macOS firewall is on.", ev);
}

}  // namespace ztna::posture::probes
