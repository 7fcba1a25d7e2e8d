// The daemon's log: one line per event on stderr (journald keeps it), with a
// component name. Callers never pass secrets; as a second line of defence,
// anything that looks like one of our bearer secrets is masked.
#pragma once

#include <string>

namespace ztna::agent {

// Masks anything after a bearer-secret prefix (ztna-session-, ztna-enroll-, ...).
std::string redact_secrets(std::string line);

void log_info(const char* component, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void log_error(const char* component, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ztna::agent
