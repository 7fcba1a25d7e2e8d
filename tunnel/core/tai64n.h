// TAI64N timestamps carried in handshake initiations (whitepaper 5.1): the
// responder keeps the greatest one seen per peer and drops any initiation
// that is not strictly newer, which defeats replayed initiations.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>

namespace ztna::tunnel {

using Tai64n = std::array<std::uint8_t, 12>;

// From Unix time in nanoseconds. The nanoseconds are rounded down to a
// multiple of 2^24 ns (about 16 ms), as wireguard-go does, so the timestamp
// does not reveal the clock's fine grain.
Tai64n tai64n_from_unix(std::chrono::nanoseconds unix_time);

// Big-endian, so byte order is time order.
inline bool tai64n_after(const Tai64n& a, const Tai64n& b) { return std::memcmp(a.data(), b.data(), a.size()) > 0; }

}  // namespace ztna::tunnel
