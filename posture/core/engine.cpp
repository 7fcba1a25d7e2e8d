#include "engine.h"

#include <exception>

#include "probes.h"

namespace ztna::posture {

namespace {

using probes::Probe;

struct Row {
    std::string_view id;
    Probe linux_probe, windows_probe, macos_probe;
};

constexpr Row kTable[] = {
    {"disk_encryption", probes::disk_encryption_linux, probes::disk_encryption_windows, probes::disk_encryption_macos},
    {"antivirus", probes::antivirus_linux, probes::antivirus_windows, probes::antivirus_macos},
    {"managed_device", probes::managed_device_linux, probes::managed_device_windows, probes::managed_device_macos},
    {"firewall", probes::firewall_linux, probes::firewall_windows, probes::firewall_macos},
    {"os_version", probes::os_version_linux, probes::os_version_windows, probes::os_version_macos},
    {"screen_lock", probes::screen_lock_linux, probes::screen_lock_windows, probes::screen_lock_macos},
};
static_assert(std::size(kTable) == std::size(kCheckIds));

Probe probe_for(const Row& row, Platform p) {
    switch (p) {
        case Platform::Linux: return row.linux_probe;
        case Platform::Windows: return row.windows_probe;
        case Platform::Macos: return row.macos_probe;
    }
    return nullptr;
}

CheckResult run(const Row& row, const SystemView& view, const Requirements& req) {
    const std::string id(row.id);
    try {
        CheckResult r = probe_for(row, view.platform())(view, req);
        r.id = id;
        if (r.summary.empty()) {
            // A probe must always explain itself; never a silent result.
            return CheckResult::unknown(id, "The " + id + " check gave no explanation, so its result is not trusted.",
                                        "Report this to your IT helpdesk with a diagnostic bundle.");
        }
        return r;
    } catch (const std::exception& e) {
        return CheckResult::unknown(id, "The " + id + " check failed unexpectedly.",
                                    "Report this to your IT helpdesk with a diagnostic bundle.",
                                    {{"internal_error", json::to_valid_utf8(e.what())}});
    }
}

}  // namespace

std::vector<CheckResult> evaluate(const SystemView& view, const Requirements& req) {
    std::vector<CheckResult> out;
    out.reserve(std::size(kTable));
    for (const Row& row : kTable) out.push_back(run(row, view, req));
    return out;
}

CheckResult evaluate_one(const SystemView& view, const Requirements& req, std::string_view id) {
    for (const Row& row : kTable)
        if (row.id == id) return run(row, view, req);
    return CheckResult::unknown(std::string(id), "There is no posture check named \"" + std::string(id) + "\".",
                                "Use one of: disk_encryption, antivirus, managed_device, firewall, os_version, screen_lock.");
}

}  // namespace ztna::posture
