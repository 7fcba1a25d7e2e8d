// Runs a system tool (nft, ip) without a shell, with optional stdin text,
// LC_ALL=C, a fixed PATH, and a timeout after which it is killed.
#pragma once

#include <string>
#include <vector>

#include "ztna/result.h"

namespace ztna {

struct RunResult {
    int status = -1;  // exit status, or 128 + signal
    std::string out, err;
};

Result<RunResult> run_tool(const std::vector<std::string>& argv, const std::string& stdin_text = {}, int timeout_ms = 10000);

// Runs it and turns a non-zero exit into an error that quotes its stderr.
Result<void> run_ok(const std::vector<std::string>& argv, const std::string& stdin_text = {});

}  // namespace ztna
