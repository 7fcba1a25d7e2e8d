#include "agent_log.h"

#include <time.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace ztna::agent {

namespace {

std::mutex log_mu;

// ztna-session-..., ztna-enroll-..., ztna-admin-...: keep the prefix, mask the rest.
}  // namespace

std::string redact_secrets(std::string s) {
    for (const char* prefix : {"ztna-session-", "ztna-enroll-", "ztna-admin-", "ztna-gateway-"}) {
        std::size_t at = 0;
        while ((at = s.find(prefix, at)) != std::string::npos) {
            std::size_t p = at + std::string(prefix).size(), end = p;
            while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '-' || s[end] == '_')) ++end;
            s.replace(p, end - p, "***");
            at = p;
        }
    }
    return s;
}

namespace {

void emit(const char* level, const char* component, const char* fmt, va_list ap) {
    char buf[2048];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    char ts[32];
    const time_t t = time(nullptr);
    struct tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    const std::string line = redact_secrets(buf);
    std::lock_guard lock(log_mu);
    std::fprintf(stderr, "%s ztna-agentd %s[%s] %s\n", ts, level, component, line.c_str());
}

}  // namespace

void log_info(const char* component, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit("", component, fmt, ap);
    va_end(ap);
}

void log_error(const char* component, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit("error ", component, fmt, ap);
    va_end(ap);
}

}  // namespace ztna::agent
