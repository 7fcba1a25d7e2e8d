#include "check_result.h"

#include "system_view.h"

namespace ztna::posture {

std::string_view platform_name(Platform p) {
    switch (p) {
        case Platform::Linux: return "linux";
        case Platform::Windows: return "windows";
        case Platform::Macos: return "macos";
    }
    return "unknown";
}

std::string_view status_name(Status s) {
    switch (s) {
        case Status::Pass: return "pass";
        case Status::Fail: return "fail";
        case Status::Unknown: return "unknown";
    }
    return "unknown";
}

CheckResult CheckResult::pass(std::string id, std::string summary, json::Object evidence) {
    return {std::move(id), Status::Pass, std::move(summary), std::move(evidence), {}};
}
CheckResult CheckResult::fail(std::string id, std::string summary, std::string remediation, json::Object evidence) {
    return {std::move(id), Status::Fail, std::move(summary), std::move(evidence), std::move(remediation)};
}
CheckResult CheckResult::unknown(std::string id, std::string summary, std::string remediation, json::Object evidence) {
    return {std::move(id), Status::Unknown, std::move(summary), std::move(evidence), std::move(remediation)};
}

json::Value to_json(const CheckResult& r) {
    json::Object o;
    o["id"] = r.id;
    o["status"] = std::string(status_name(r.status));
    o["summary"] = r.summary;
    o["evidence"] = r.evidence;
    o["remediation"] = r.remediation;
    return o;
}

json::Value to_json(const std::vector<CheckResult>& results) {
    json::Array a;
    for (const auto& r : results) a.push_back(to_json(r));
    return a;
}

}  // namespace ztna::posture
