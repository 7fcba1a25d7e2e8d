// os_version on macOS: `sw_vers` against the organization's minimum.
#include "macos_parsers.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

CheckResult os_version_macos(const SystemView& view, const Requirements& req) {
    const std::string id = "os_version";
    const std::string remediation_read =
        "Run `sw_vers` in Terminal to see the macOS version; if it fails, send a diagnostic bundle to your IT helpdesk.";
    const macos::Output out = macos::read_command(view, "sw_vers");
    if (!out.text) {
        return CheckResult::unknown(id, "The macOS version could not be read.", remediation_read,
                                    {{"sw_vers_error", json::to_valid_utf8(out.error)}});
    }
    const auto v = macos::parse_sw_vers(*out.text);
    if (!v) {
        return CheckResult::unknown(id, "The output of `sw_vers` was not understood, so the macOS version is not known.",
                                    remediation_read,
                                    {{"sw_vers_error", "unrecognized output"}, {"sw_vers_excerpt", text::excerpt(*out.text)}});
    }
    json::Object ev{{"product_name", v->product_name}, {"product_version", v->product_version}};
    if (!v->build_version.empty()) ev["build_version"] = v->build_version;
    if (!v->version_extra.empty()) ev["product_version_extra"] = v->version_extra;
    const std::string shown = v->product_name + " " + v->product_version;
    const auto it = req.min_os_version.find("macos");
    if (it == req.min_os_version.end() || text::trim(it->second).empty()) {
        return CheckResult::pass(id, "This Mac runs " + shown + "; your organization requires no minimum macOS version.", ev);
    }
    const std::string min(text::trim(it->second));
    ev["min_version"] = min;
    const auto cmp = text::compare_versions(v->product_version, min);
    if (!cmp) {
        return CheckResult::unknown(id, "The required minimum macOS version \"" + text::excerpt(min, 20) +
                                            "\" is not a version number, so this Mac cannot be compared with it.",
                                    "Ask your IT department to correct the minimum macOS version in the access policy.", ev);
    }
    if (*cmp < 0) {
        return CheckResult::fail(id, "This Mac runs " + shown + ", older than macOS " + min + " that your organization requires.",
                                 "Update macOS: System Settings > General > Software Update, and install macOS " + min +
                                     " or later.",
                                 ev);
    }
    return CheckResult::pass(id, "This Mac runs " + shown + ", which meets the required macOS " + min + ".", ev);
}

}  // namespace ztna::posture::probes
