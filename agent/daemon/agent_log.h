// The daemon's log: one line per event on stderr (journald keeps it), with a
// component name. Callers never pass secrets; as a second line of defence,
// anything that looks like one of our bearer secrets is masked.
#pragma once

namespace ztna::agent {

void log_info(const char* component, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void log_error(const char* component, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ztna::agent
