#include "tai64n.h"

namespace ztna::tunnel {

Tai64n tai64n_from_unix(std::chrono::nanoseconds unix_time) {
    constexpr std::uint64_t kBase = 0x400000000000000aull;  // 2^62 + 10 (TAI-UTC at 1970)
    constexpr std::int64_t kWhitening = 1 << 24;
    std::int64_t ns = unix_time.count();
    if (ns < 0) ns = 0;
    const std::uint64_t secs = kBase + std::uint64_t(ns / 1'000'000'000);
    std::int64_t nanos = ns % 1'000'000'000;
    nanos -= nanos % kWhitening;
    Tai64n t{};
    for (int i = 0; i < 8; ++i) t[i] = std::uint8_t(secs >> (56 - 8 * i));
    for (int i = 0; i < 4; ++i) t[8 + i] = std::uint8_t(std::uint32_t(nanos) >> (24 - 8 * i));
    return t;
}

}  // namespace ztna::tunnel
