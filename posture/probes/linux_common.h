// Helpers shared by the Linux probes: decoded reads of files and commands,
// the process list, /proc/mounts, and the console user from loginctl.
// Everything here is a pure function of a SystemView; nothing throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "system_view.h"
#include "ztna/json.h"

namespace ztna::posture::probes::linux_detail {

// A source read and decoded (text::decode), or the reason it could not be.
struct Text {
    bool ok = false;
    std::string text;   // decoded, when ok
    std::string error;  // why not, when !ok
};

Text read_file(const SystemView& view, std::string_view path, std::size_t max_bytes = limits::kMaxFileBytes);
Text run(const SystemView& view, std::string_view name, std::string_view arg = {});

// True when decoded text is readable tool output: not empty, not binary.
bool readable(const std::string& s);

// ---- processes ---------------------------------------------------------
struct Process {
    std::int64_t pid = 0;
    std::string name;  // /proc/PID/comm
    std::string exe;   // readlink /proc/PID/exe, empty when unreadable
};
// The "processes" query. Nothing (and *error set) when the list is missing,
// not an array of {pid, name}, or empty (a real process list never is).
std::optional<std::vector<Process>> processes(const SystemView& view, std::string* error);
bool running(const std::vector<Process>& ps, std::string_view name);

// ---- mounts ------------------------------------------------------------
struct Mount {
    std::string device;
    std::string mount_point;
    std::string fstype;
};
// /proc/mounts (or /proc/self/mounts) lines; octal escapes (\040) undone.
std::vector<Mount> parse_mounts(std::string_view text);
// The mount in effect at exactly this mount point (the last one listed).
const Mount* mount_at(const std::vector<Mount>& mounts, std::string_view mount_point);
// The mount that holds path: the longest mount point that is a prefix of it.
const Mount* mount_holding(const std::vector<Mount>& mounts, std::string_view path);
// Undoes the \NNN octal escapes the kernel uses in /proc/mounts and /proc/swaps.
std::string unescape_octal(std::string_view s);

// ---- login sessions ----------------------------------------------------
struct Session {
    std::string id;
    std::string uid;
    std::string user;
};
// `loginctl list-sessions --no-legend`, any systemd version: the first three
// columns (SESSION UID USER) of every line whose UID is a number.
std::vector<Session> parse_sessions(std::string_view text);

struct SessionInfo {
    std::string name, type, cls, desktop;
    bool active = false, remote = false;
    bool complete = false;  // Name, Type, Class and Active were all present
};
SessionInfo parse_session_info(std::string_view text);

// The console user: the active, local, graphical (x11/wayland) user session.
struct ConsoleUser {
    std::string user, session, type, desktop;
};
struct ConsoleLookup {
    enum class Outcome { Found, NoDesktop, Unreadable } outcome = Outcome::Unreadable;
    ConsoleUser user;
    std::vector<std::string> users;  // every user with a session, for probes that look at each
    std::string reason;              // for Unreadable: what could not be read
};
ConsoleLookup console_user(const SystemView& view, json::Object& evidence);

bool plain_name(std::string_view s);  // [A-Za-z0-9._-]+, a user name we may put in a path

}  // namespace ztna::posture::probes::linux_detail
