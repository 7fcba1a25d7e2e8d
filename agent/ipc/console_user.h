// Who sits at the machine: the uid of the active session on seat0, as
// systemd-logind publishes it. ztna-agentd lets that user (and root) control
// the tunnel over IPC; everyone else may only read its status.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace ztna::ipc {

// ACTIVE_UID= from <seats_dir>/seat0. nullopt when there is no seat0 (a server,
// a container), no active session, or the file cannot be read or parsed; the
// caller then grants nothing beyond root.
std::optional<uid_t> console_uid(const std::string& seats_dir = "/run/systemd/seats");

// The daemon's control rule: root, or the user of the active console session.
bool root_or_console_user(uid_t uid, const std::string& seats_dir = "/run/systemd/seats");

}  // namespace ztna::ipc
