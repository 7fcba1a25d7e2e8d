// managed_device on Windows: enrolled in MDM (dsregcmd's MdmUrl, or an active
// enrollment under HKLM\SOFTWARE\Microsoft\Enrollments). Entra or domain join
// alone is not management. See posture/PROBES.md.
#include <optional>

#include "probes.h"
#include "text.h"
#include "windows_parsers.h"

namespace ztna::posture::probes {

namespace {

constexpr const char* kId = "managed_device";
constexpr const char* kEnroll =
    "Enroll the device in your organization's MDM: Settings > Accounts > Access work or school > select the work "
    "account > Info > Sync (or \"Enroll only in device management\"), or ask your IT helpdesk to enroll it in Intune.";

struct Enrollment {
    std::string provider;
    std::optional<std::int64_t> state, type;
};

}  // namespace

CheckResult managed_device_windows(const SystemView& view, const Requirements&) {
    json::Object ev;

    std::optional<windows::DsregStatus> dsreg;
    const auto out = windows::read_command(view, "dsregcmd-status");
    if (out.text) {
        dsreg = windows::parse_dsregcmd_status(*out.text);
        if (!dsreg) ev["dsregcmd_error"] = "dsregcmd output has no AzureAdJoined/DomainJoined lines: \"" + text::excerpt(*out.text, 80) + "\"";
    } else {
        ev["dsregcmd_error"] = out.error;
    }
    if (dsreg) {
        ev["azure_ad_joined"] = dsreg->azure_ad_joined;
        ev["domain_joined"] = dsreg->domain_joined;
        ev["workplace_joined"] = dsreg->workplace_joined;
        if (!dsreg->domain_name.empty()) ev["domain_name"] = dsreg->domain_name;
        if (!dsreg->tenant_name.empty()) ev["tenant_name"] = dsreg->tenant_name;
        ev["mdm_url"] = dsreg->mdm_url;
    }

    // The enrollments: an array ([] when none); one object is accepted only when it is one.
    std::optional<std::vector<Enrollment>> enrollments;
    const auto q = windows::read_query(view, "MdmEnrollments");
    if (q.value) {
        const bool is_array = q.value->is_array();
        std::vector<Enrollment> list;
        for (const json::Value* inst : windows::instances(*q.value)) {
            const auto provider = windows::string_member(*inst, "ProviderID");
            if (!provider || text::trim(*provider).empty()) continue;
            list.push_back({text::excerpt(text::trim(*provider), 60), windows::int_member(*inst, "EnrollmentState"),
                            windows::int_member(*inst, "EnrollmentType")});
            if (list.size() >= 32) break;
        }
        if (is_array || !list.empty()) enrollments = std::move(list);
        else ev["mdm_enrollments_error"] = "MdmEnrollments is neither a list nor an enrollment";
    } else {
        ev["mdm_enrollments_error"] = q.error;
    }
    const Enrollment* active = nullptr;
    if (enrollments) {
        json::Array arr;
        for (const auto& e : *enrollments) {
            json::Object o;
            o["provider_id"] = e.provider;
            if (e.state) o["enrollment_state"] = *e.state;
            if (e.type) o["enrollment_type"] = *e.type;
            arr.push_back(std::move(o));
            if (!active && e.state == 1) active = &e;
        }
        ev["mdm_enrollments"] = std::move(arr);
    }

    if (active) {
        ev["mdm_provider"] = active->provider;
        const std::string who = active->provider == "MS DM Server" ? std::string("Microsoft Intune") : active->provider;
        return CheckResult::pass(kId, "This device is managed: it is enrolled in MDM (" + who + ").", std::move(ev));
    }
    if (dsreg && !dsreg->mdm_url.empty()) {
        const std::string tenant = dsreg->tenant_name.empty() ? std::string() : " of " + dsreg->tenant_name;
        return CheckResult::pass(kId, "This device is managed: it is enrolled in the MDM" + tenant + ".", std::move(ev));
    }

    // Not enrolled, as far as a readable source shows. The registry is the
    // enrollment record; without it, an empty MdmUrl proves nothing.
    if (!enrollments)
        return CheckResult::unknown(kId, "Whether this device is enrolled in MDM could not be read.",
                                    "Check Settings > Accounts > Access work or school; if the work account shows "
                                    "\"Connected to ... MDM\", report this to your IT helpdesk with a diagnostic bundle.",
                                    std::move(ev));
    if (!dsreg)
        return CheckResult::fail(kId, "This device is not enrolled in MDM, so your organization does not manage it.", kEnroll,
                                 std::move(ev));
    if (dsreg->azure_ad_joined) {
        const std::string tenant = dsreg->tenant_name.empty() ? std::string() : " (" + dsreg->tenant_name + ")";
        return CheckResult::fail(kId, std::string("This device is ") + (dsreg->domain_joined ? "hybrid " : "") +
                                          "joined to Microsoft Entra ID" + tenant + " but not enrolled in MDM, so it is not managed.",
                                 kEnroll, std::move(ev));
    }
    if (dsreg->domain_joined)
        return CheckResult::fail(kId, "This device is joined to the domain" +
                                          (dsreg->domain_name.empty() ? std::string() : " " + dsreg->domain_name) +
                                          " but not managed by MDM.",
                                 "Ask your IT helpdesk to enroll it in MDM (for a domain-joined device: Microsoft "
                                 "Entra hybrid join with automatic Intune enrollment).",
                                 std::move(ev));
    if (dsreg->workplace_joined)
        return CheckResult::fail(kId, "A work account is registered on this device, but the device is not enrolled in MDM.", kEnroll,
                                 std::move(ev));
    return CheckResult::fail(kId, "This device is not joined to your organization and not enrolled in MDM.", kEnroll, std::move(ev));
}

}  // namespace ztna::posture::probes
