// The posture results as a table for people: check, status, summary, and the
// remediation under the summary, wrapped to a width.
#pragma once

#include <string>
#include <vector>

#include "check_result.h"

namespace ztna::posture {

std::string format_table(const std::vector<CheckResult>& results, std::size_t width = 100);

}  // namespace ztna::posture
