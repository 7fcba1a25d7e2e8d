#include "requirements.h"

namespace ztna::posture {

Result<Requirements> requirements_from_json(const json::Value& v) {
    if (!v.is_object()) return fail("posture requirements: expected a JSON object");
    Requirements r;
    for (const auto& entry : v.as_object()) {
        // Named references, not a structured binding: clang 14 cannot capture bindings in lambdas.
        const std::string& key = entry.first;
        const json::Value& member = entry.second;
        const auto need_string = [&](std::string& into) -> Result<void> {
            if (!member.is_string()) return fail("posture requirements: \"" + key + "\" must be a string");
            into = member.as_string();
            return {};
        };
        const auto need_int = [&](int& into, int lo, int hi) -> Result<void> {
            if (!member.is_int() || member.as_int() < lo || member.as_int() > hi)
                return fail("posture requirements: \"" + key + "\" must be an integer from " + std::to_string(lo) +
                            " to " + std::to_string(hi));
            into = int(member.as_int());
            return {};
        };
        Result<void> ok;
        if (key == "min_os_version") {
            if (!member.is_object()) return fail("posture requirements: \"min_os_version\" must be an object");
            for (const auto& [os, ver] : member.as_object()) {
                if (!ver.is_string())
                    return fail("posture requirements: min_os_version.\"" + os + "\" must be a version string");
                r.min_os_version[os] = ver.as_string();
            }
        } else if (key == "max_signature_age_days") {
            ok = need_int(r.max_signature_age_days, 0, 3650);
        } else if (key == "max_screen_lock_delay_s") {
            ok = need_int(r.max_screen_lock_delay_s, 0, 86400);
        } else if (key == "organization_ca_path") {
            ok = need_string(r.organization_ca_path);
        } else if (key == "device_certificate_path") {
            ok = need_string(r.device_certificate_path);
        } else {
            return fail("posture requirements: unknown member \"" + key +
                        "\" (known: min_os_version, max_signature_age_days, max_screen_lock_delay_s, "
                        "organization_ca_path, device_certificate_path)");
        }
        if (!ok) return Unexpected<Error>{ok.error()};
    }
    return r;
}

}  // namespace ztna::posture
