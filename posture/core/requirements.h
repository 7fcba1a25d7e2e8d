// What the organization requires of a device: the thresholds probes compare
// against. They come from policy (the controller) or managed settings; a
// posture snapshot fixture may carry its own in requirements.json.
#pragma once

#include <map>
#include <string>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::posture {

struct Requirements {
    // Minimum OS version by OS id: os-release ID on Linux ("debian", "ubuntu",
    // "fedora"...), "windows" (a build such as "10.0.19045"), "macos" ("14.4").
    // An OS with no entry has no minimum.
    std::map<std::string, std::string> min_os_version;
    // Antivirus signatures older than this are out of date.
    int max_signature_age_days = 7;
    // The screen must lock after at most this much idle time.
    int max_screen_lock_delay_s = 900;
    // Linux managed_device: the organization's CA certificate (PEM) and the
    // device certificate it issued (PEM), as paths on the device.
    std::string organization_ca_path;
    std::string device_certificate_path;
};

// From JSON: {"min_os_version": {"ubuntu": "22.04"}, "max_signature_age_days": 7,
// "max_screen_lock_delay_s": 900, "organization_ca_path": "...",
// "device_certificate_path": "..."}; every member optional, unknown members refused.
Result<Requirements> requirements_from_json(const json::Value& v);

}  // namespace ztna::posture
