// os_version on Linux: /etc/os-release (ID, VERSION_ID, PRETTY_NAME) against
// the organization's minimum for that ID; the kernel release as evidence.
#include "linux_common.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

using namespace linux_detail;

// One os-release value: the text after '=', without its quotes and escapes.
std::string unquote(std::string_view v) {
    v = text::trim(v);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
        const char q = v.front();
        v = v.substr(1, v.size() - 2);
        std::string out;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (q == '"' && v[i] == '\\' && i + 1 < v.size()) ++i;
            out += v[i];
        }
        return out;
    }
    return std::string(v);
}

bool os_id(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
    return true;
}

constexpr const char* kWhere = "/etc/os-release";

}  // namespace

CheckResult os_version_linux(const SystemView& view, const Requirements& req) {
    const std::string id = "os_version";
    json::Object ev;
    const Text rel = read_file(view, kWhere, 64 * 1024);
    const Text kernel = read_file(view, "/proc/sys/kernel/osrelease", 256);
    if (kernel.ok && readable(kernel.text) && text::trim(kernel.text).size() < 128)
        ev["kernel"] = std::string(text::trim(kernel.text));
    else if (!kernel.ok)
        ev["kernel_error"] = kernel.error;

    if (!rel.ok) {
        ev["os_release_error"] = rel.error;
        return CheckResult::unknown(id, "The operating system version could not be read from /etc/os-release.",
                                    "Make sure /etc/os-release exists and is readable (it is part of the base system), "
                                    "then check again.",
                                    std::move(ev));
    }
    std::string os, version, pretty;
    if (readable(rel.text)) {
        for (const auto& [k, v] : text::key_values(rel.text, '=')) {
            if (!k.empty() && k[0] == '#') continue;
            if (k == "ID" && os.empty()) os = text::lower(unquote(v));
            else if (k == "VERSION_ID" && version.empty()) version = unquote(v);
            else if (k == "PRETTY_NAME" && pretty.empty()) pretty = unquote(v);
        }
    }
    if (!os_id(os)) {
        ev["os_release_excerpt"] = text::excerpt(rel.text);
        return CheckResult::unknown(id, "The operating system could not be identified: /etc/os-release has no valid ID.",
                                    "Restore /etc/os-release from your distribution's base-files package "
                                    "(e.g. `apt install --reinstall base-files`), then check again.",
                                    std::move(ev));
    }
    ev["id"] = os;
    if (!version.empty()) ev["version_id"] = text::excerpt(version, 64);
    if (!pretty.empty()) ev["pretty_name"] = text::excerpt(pretty, 120);
    const std::string name = pretty.empty() ? os + (version.empty() ? "" : " " + version) : text::excerpt(pretty, 120);

    const auto it = req.min_os_version.find(os);
    if (it == req.min_os_version.end()) {
        return CheckResult::pass(id, "This device runs " + name + "; no minimum version is required for " + os + ".",
                                 std::move(ev));
    }
    ev["minimum_version"] = it->second;
    if (version.empty()) {
        return CheckResult::unknown(id, name + " does not state a version (no VERSION_ID), so it cannot be compared with the minimum " +
                                        it->second + ".",
                                    "Ask your IT helpdesk whether this distribution is supported; a rolling release has "
                                    "no version to compare.",
                                    std::move(ev));
    }
    const auto cmp = text::compare_versions(version, it->second);
    if (!cmp) {
        return CheckResult::unknown(id, "The version \"" + text::excerpt(version, 40) + "\" of " + os +
                                        " cannot be compared with the minimum " + it->second + ".",
                                    "Ask your IT helpdesk to check the minimum version set for " + os + ".", std::move(ev));
    }
    if (*cmp < 0) {
        return CheckResult::fail(id, "This device runs " + name + ", older than the required " + os + " " + it->second + ".",
                                 "Upgrade to " + os + " " + it->second +
                                     " or newer (for example with your distribution's release upgrade tool), then check again.",
                                 std::move(ev));
    }
    return CheckResult::pass(id, "This device runs " + name + ", which meets the required " + os + " " + it->second + ".",
                             std::move(ev));
}

}  // namespace ztna::posture::probes
