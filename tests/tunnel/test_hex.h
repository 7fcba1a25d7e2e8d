// Hex helpers for known-answer vectors in tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ztna::tunnel::testing {

inline std::vector<std::uint8_t> unhex(std::string_view h) {
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return c - 'A' + 10;
    };
    std::vector<std::uint8_t> out(h.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::uint8_t(nib(h[2 * i]) << 4 | nib(h[2 * i + 1]));
    return out;
}

template <class Bytes>
std::string hex(const Bytes& b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (std::uint8_t x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

}  // namespace ztna::tunnel::testing
