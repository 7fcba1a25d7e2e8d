// The result of one posture check: what the controller decides on and what the
// user is told.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ztna/json.h"

namespace ztna::posture {

// Unknown is never reported as pass or fail: a check says unknown, with its
// reason, whenever it cannot tell.
enum class Status { Pass, Fail, Unknown };

std::string_view status_name(Status s);

struct CheckResult {
    std::string id;           // disk_encryption, antivirus, managed_device, firewall, os_version, screen_lock
    Status status = Status::Unknown;
    std::string summary;      // one sentence a user understands
    json::Object evidence;    // the facts that decided it
    std::string remediation;  // what to do; empty only for pass

    static CheckResult pass(std::string id, std::string summary, json::Object evidence = {});
    static CheckResult fail(std::string id, std::string summary, std::string remediation, json::Object evidence = {});
    static CheckResult unknown(std::string id, std::string summary, std::string remediation, json::Object evidence = {});
};

json::Value to_json(const CheckResult& r);
json::Value to_json(const std::vector<CheckResult>& results);

// The check ids, in the order they are evaluated and shown.
inline constexpr std::string_view kCheckIds[] = {"disk_encryption", "antivirus", "managed_device",
                                                 "firewall",        "os_version", "screen_lock"};

}  // namespace ztna::posture
