// Runs every check against a SystemView: the posture of one device.
#pragma once

#include <vector>

#include "check_result.h"
#include "requirements.h"
#include "system_view.h"

namespace ztna::posture {

// One result per check id, in the order of kCheckIds. Never throws: a probe
// that fails unexpectedly yields unknown with the reason.
std::vector<CheckResult> evaluate(const SystemView& view, const Requirements& req);

// One check by id; unknown with a reason for an id that does not exist.
CheckResult evaluate_one(const SystemView& view, const Requirements& req, std::string_view id);

}  // namespace ztna::posture
