// Policy decisions: for every app of the policy, allowed (by which rule) or
// denied with every reason that stands in the way, each with a code, a
// sentence for the user and a remediation. A pure function of the policy,
// who asks, from which device, with which posture, and when.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy.h"

namespace ztna::controller {

struct Subject {
    std::string user;                 // subject, "iss|sub"
    std::string email;
    std::vector<std::string> groups;
    std::vector<std::string> amr;     // authentication methods (RFC 8176)
    bool user_disabled = false;
    bool device_revoked = false;
    bool session_valid = true;
};

struct PostureCheck {
    std::string status;               // pass, fail, unknown
    std::string summary, remediation;
};

struct PostureState {
    bool present = false;             // a verified, fresh report exists
    std::map<std::string, PostureCheck> checks;
};

struct Denial {
    std::string code;                 // group_missing, mfa_required, posture_failed, outside_hours,
                                      // user_disabled, device_revoked, signed_out, posture_missing
    std::string message, remediation;
};

struct Decision {
    std::string app;
    bool allowed = false;
    std::string rule;                 // the rule that allowed it
    std::vector<Denial> reasons;      // why not, when denied
};

// True when the authentication methods include a second factor.
bool has_mfa(const std::vector<std::string>& amr);

std::vector<Decision> decide(const Policy& policy, const Subject& who, const PostureState& posture, std::int64_t now);

}  // namespace ztna::controller
