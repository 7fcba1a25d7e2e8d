// The real clocks, read at the I/O boundary and handed to the core in an Env.
#pragma once

#include <time.h>

#include <chrono>

namespace ztna::tunnel::io {

inline std::chrono::nanoseconds read_clock(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
inline std::chrono::nanoseconds mono_now() { return read_clock(CLOCK_MONOTONIC); }
inline std::chrono::nanoseconds wall_now() { return read_clock(CLOCK_REALTIME); }

}  // namespace ztna::tunnel::io
