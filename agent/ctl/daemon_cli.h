// ztnactl's commands that talk to ztna-agentd over its IPC socket (docs/ipc.md):
// status, apps, login, logout, logs. Exit codes: 0 done, 1 failed, 2 usage,
// 3 the daemon is not running, 4 the caller is not allowed.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ztna::agent {

inline constexpr const char* kDefaultSocket = "/run/ztna/agentd.sock";

int daemon_cli(const std::string& command, const std::vector<std::string>& args, const std::string& socket_path, std::ostream& out,
               std::ostream& err);

}  // namespace ztna::agent
