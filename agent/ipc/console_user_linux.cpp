// systemd-logind writes /run/systemd/seats/seat0 as KEY=VALUE lines. It marks
// the file private, but it is the only source that needs no D-Bus or
// libsystemd; the parse is strict and anything unexpected means "no console
// user", which grants nothing.
#include "console_user.h"

#include <fstream>
#include <limits>
#include <string_view>

namespace ztna::ipc {

namespace {

std::optional<uid_t> parse_uid(std::string_view s) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    unsigned long long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + unsigned(c - '0');
    }
    // (uid_t)-1 means "no uid" to the kernel.
    if (v >= std::numeric_limits<uid_t>::max()) return std::nullopt;
    return uid_t(v);
}

}  // namespace

std::optional<uid_t> console_uid(const std::string& seats_dir) {
    std::ifstream in(seats_dir + "/seat0");
    if (!in) return std::nullopt;
    constexpr std::string_view key = "ACTIVE_UID=";
    std::string line;
    for (int n = 0; n < 256 && std::getline(in, line); ++n) {
        if (line.compare(0, key.size(), key) == 0) return parse_uid(std::string_view(line).substr(key.size()));
    }
    return std::nullopt;
}

bool root_or_console_user(uid_t uid, const std::string& seats_dir) {
    if (uid == 0) return true;
    const auto console = console_uid(seats_dir);
    return console && *console == uid;
}

}  // namespace ztna::ipc
