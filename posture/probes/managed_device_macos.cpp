// managed_device on macOS: MDM enrollment, from `profiles status -type enrollment`.
#include "macos_parsers.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

CheckResult managed_device_macos(const SystemView& view, const Requirements&) {
    const std::string id = "managed_device";
    const std::string remediation_read =
        "Run `sudo profiles status -type enrollment` in Terminal to see the enrollment; if it fails, send a diagnostic "
        "bundle to your IT helpdesk.";
    const macos::Output out = macos::read_command(view, "profiles-enrollment");
    if (!out.text) {
        return CheckResult::unknown(id, "The Mac's MDM enrollment could not be read, so it is not known whether it is managed.",
                                    remediation_read, {{"profiles_error", json::to_valid_utf8(out.error)}});
    }
    const auto e = macos::parse_profiles_enrollment(*out.text);
    if (!e) {
        return CheckResult::unknown(id, "The Mac's MDM enrollment status was not understood, so it is not known whether it is managed.",
                                    remediation_read,
                                    {{"profiles_error", "unrecognized output"}, {"profiles_excerpt", text::excerpt(*out.text)}});
    }
    json::Object ev{{"mdm_enrolled", e->mdm}, {"enrolled_via_dep", e->dep}, {"user_approved", e->user_approved}};
    if (!e->server_host.empty()) ev["mdm_server_host"] = e->server_host;
    if (!e->mdm) {
        if (e->dep) {
            return CheckResult::fail(id, "This Mac is assigned to your organization but is not enrolled in its device management.",
                                     "Enroll it: run `sudo profiles renew -type enrollment` and follow the notification, or ask "
                                     "your IT helpdesk.",
                                     ev);
        }
        return CheckResult::fail(id, "This Mac is not enrolled in your organization's device management (MDM).",
                                 "Enroll the Mac as your IT department describes (for example by installing its enrollment "
                                 "profile, then approving it in System Settings > Privacy & Security > Profiles).",
                                 ev);
    }
    if (e->dep)
        return CheckResult::pass(id, "This Mac is managed by your organization (enrolled automatically through Apple Business Manager).", ev);
    if (e->user_approved)
        return CheckResult::pass(id, "This Mac is managed by your organization (MDM enrollment approved by the user).", ev);
    return CheckResult::pass(id, "This Mac is enrolled in your organization's MDM, but the enrollment is not user approved, "
                                 "so some settings cannot be managed.",
                             ev);
}

}  // namespace ztna::posture::probes
