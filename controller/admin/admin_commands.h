// ztna-admin's commands, callable in process (tests) as well as from main.
//   ztna-admin init --dir DIR --name HOST [--name HOST...] [--port N] [--listen ADDR]
//   ztna-admin [--dir DIR] tokens create [--ttl DURATION] [--label TEXT] [--json]
//   ztna-admin [--dir DIR] tokens list|devices list|users list [--json]
//   ztna-admin [--dir DIR] tokens revoke ID | devices revoke ID | users disable|enable USER
//   ztna-admin [--dir DIR] audit [--user U] [--app A] [--device D] [--since WHEN] [--json]
// DIR defaults to $ZTNA_CONTROLLER_DIR, else /etc/ztna-controller.
// Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 usage.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace ztna::controller {

int run_admin(int argc, const char* const* argv, std::FILE* out, std::FILE* err);

// "90s", "15m", "1h", "7d" or plain seconds; nothing when malformed.
std::optional<std::int64_t> parse_duration_s(const std::string& s);

}  // namespace ztna::controller
