// Test helper: a snapshot directory loaded whole into a MemoryView, so tests
// can mutate one source at a time.
#pragma once

#include <string>

#include "memory_view.h"
#include "ztna/result.h"

namespace ztna::posture::testing {

Result<MemoryView> load_snapshot(const std::string& dir);

}  // namespace ztna::posture::testing
