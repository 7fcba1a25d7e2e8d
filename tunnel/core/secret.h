// Types that hold key material: wiped on destruction (sodium_memzero),
// compared in constant time, and with no way to be printed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <sodium.h>

namespace ztna::tunnel {

template <std::size_t N>
class Secret {
public:
    Secret() { bytes_.fill(0); }
    explicit Secret(std::span<const std::uint8_t, N> src) { std::copy(src.begin(), src.end(), bytes_.begin()); }
    Secret(const Secret& o) : bytes_(o.bytes_) {}
    Secret& operator=(const Secret& o) {
        bytes_ = o.bytes_;
        return *this;
    }
    ~Secret() { wipe(); }

    void wipe() { sodium_memzero(bytes_.data(), N); }
    std::uint8_t* data() { return bytes_.data(); }
    const std::uint8_t* data() const { return bytes_.data(); }
    static constexpr std::size_t size() { return N; }
    std::span<std::uint8_t, N> span() { return bytes_; }
    std::span<const std::uint8_t, N> span() const { return bytes_; }

    // Constant-time comparison.
    bool equals(const Secret& o) const { return sodium_memcmp(bytes_.data(), o.bytes_.data(), N) == 0; }
    bool is_zero() const { return sodium_is_zero(bytes_.data(), N) == 1; }

private:
    std::array<std::uint8_t, N> bytes_;
};

using Key = Secret<32>;             // symmetric keys, chaining keys, private keys
using PublicKey = std::array<std::uint8_t, 32>;  // public: may be printed (base64)

// Constant-time comparison for public values that must still not leak timing
// (MACs, decrypted static keys).
template <std::size_t N>
bool ct_equal(std::span<const std::uint8_t, N> a, std::span<const std::uint8_t, N> b) {
    return sodium_memcmp(a.data(), b.data(), N) == 0;
}

}  // namespace ztna::tunnel
