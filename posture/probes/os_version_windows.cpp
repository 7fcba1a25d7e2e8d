// os_version on Windows: Win32_OperatingSystem's Version (10.0.BUILD), with
// the update build revision from the registry when known (10.0.BUILD.UBR),
// against req.min_os_version["windows"]. See posture/PROBES.md.
#include <optional>

#include "probes.h"
#include "text.h"
#include "windows_parsers.h"

namespace ztna::posture::probes {

namespace {

constexpr const char* kId = "os_version";
constexpr const char* kUpdate =
    "Install the latest Windows updates: Settings > Windows Update > Check for updates (a feature update may be "
    "needed), then restart.";

// "10.0.22631": digits and dots only, three or four parts.
bool plain_version(std::string_view v) {
    if (v.empty() || v.size() > 32) return false;
    int dots = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '.') {
            if (i == 0 || i + 1 == v.size() || v[i - 1] == '.') return false;
            ++dots;
        } else if (v[i] < '0' || v[i] > '9') {
            return false;
        }
    }
    return dots == 2 || dots == 3;
}

std::size_t parts(std::string_view v) {
    std::size_t n = 1;
    for (char c : v) n += c == '.';
    return n;
}

}  // namespace

CheckResult os_version_windows(const SystemView& view, const Requirements& req) {
    json::Object ev;
    const auto q = windows::read_query(view, "Win32_OperatingSystem");
    std::string version, caption;
    if (q.value) {
        const auto inst = windows::instances(*q.value);
        if (inst.size() == 1) {
            version = std::string(text::trim(windows::string_member(*inst[0], "Version").value_or("")));
            caption = text::excerpt(text::trim(windows::string_member(*inst[0], "Caption").value_or("")), 80);
        }
        if (!plain_version(version)) {
            ev["os_error"] = version.empty() ? std::string("Win32_OperatingSystem has no Version")
                                             : "Win32_OperatingSystem Version \"" + text::excerpt(version, 40) + "\" is not a Windows version";
            version.clear();
        }
    } else {
        ev["os_error"] = q.error;
    }
    if (version.empty())
        return CheckResult::unknown(kId, "The Windows version could not be read.",
                                    "Check Settings > System > About (Windows specifications) and report the version "
                                    "to your IT helpdesk with a diagnostic bundle.",
                                    std::move(ev));
    if (caption.empty()) caption = "Windows";
    ev["caption"] = caption;
    ev["version"] = version;

    // The UBR completes a three-part version, when the registry gives one for the same build.
    std::string full = version;
    if (parts(version) == 3) {
        const auto cv = windows::read_query(view, "WindowsCurrentVersion");
        if (cv.value) {
            const auto inst = windows::instances(*cv.value);
            const auto ubr = inst.size() == 1 ? windows::int_member(*inst[0], "UBR") : std::nullopt;
            const auto build = inst.size() == 1 ? windows::string_member(*inst[0], "CurrentBuild") : std::nullopt;
            const std::string own_build = version.substr(version.rfind('.') + 1);
            if (ubr && *ubr >= 0 && *ubr < 1000000 && (!build || text::trim(*build) == own_build)) {
                full = version + "." + std::to_string(*ubr);
                ev["ubr"] = *ubr;
            }
        }
    }
    ev["full_version"] = full;

    const auto it = req.min_os_version.find("windows");
    if (it == req.min_os_version.end() || text::trim(it->second).empty())
        return CheckResult::pass(kId, caption + " " + full + " is installed; no minimum Windows version is required.", std::move(ev));
    const std::string min(text::trim(it->second));
    ev["min_version"] = min;
    // A minimum with a UBR cannot be judged on the build alone when the builds are equal.
    std::optional<int> cmp = text::compare_versions(full, min);
    if (cmp && parts(full) == 3 && parts(min) >= 4) {
        const auto build_cmp = text::compare_versions(full, min.substr(0, min.rfind('.')));
        if (build_cmp == 0) cmp.reset();
        else cmp = build_cmp;
    }
    if (!text::compare_versions(min, "0"))
        return CheckResult::unknown(kId, "The required minimum Windows version \"" + text::excerpt(min, 40) + "\" is not a version.",
                                    "Ask your IT administrator to correct the minimum Windows version in the policy.", std::move(ev));
    if (!cmp)
        return CheckResult::unknown(kId, caption + " " + full + " cannot be compared with the required " + min +
                                             " because the update revision is not known.",
                                    kUpdate, std::move(ev));
    if (*cmp < 0)
        return CheckResult::fail(kId, caption + " " + full + " is older than the required version " + min + ".", kUpdate, std::move(ev));
    return CheckResult::pass(kId, caption + " " + full + " meets the required minimum " + min + ".", std::move(ev));
}

}  // namespace ztna::posture::probes
