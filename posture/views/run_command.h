// Runs a program without a shell: stdin from /dev/null, a fixed PATH and
// LC_ALL=C (English output), in its own process group, killed with that group
// at the timeout; stdout kept up to cap bytes, stderr up to 4 KiB.
#pragma once

#include <string>
#include <vector>

#include "ztna/result.h"

namespace ztna::posture {

struct CommandRun {
    std::string out, err;
    int status = -1;  // exit status, or 128 + signal
    bool timed_out = false;
};

// The error says why the program could not be started (not installed...).
Result<CommandRun> run_command(const std::vector<std::string>& argv, int timeout_ms, std::size_t cap);

}  // namespace ztna::posture
