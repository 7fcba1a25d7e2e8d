// Randomness is an argument of every entry point of the core, so tests can
// use a fixed stream and the core never reaches for a global source.
#pragma once

#include <cstdint>
#include <span>

namespace ztna::tunnel {

class Rng {
public:
    virtual ~Rng() = default;
    virtual void fill(std::span<std::uint8_t> out) = 0;
    std::uint32_t next_u32() {
        std::uint8_t b[4];
        fill(b);
        return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
    }
};

// The operating system's CSPRNG (libsodium randombytes).
class SystemRng final : public Rng {
public:
    void fill(std::span<std::uint8_t> out) override;
};

// A deterministic stream from a 32-byte seed (ChaCha20), for tests only.
class SeededRng final : public Rng {
public:
    explicit SeededRng(std::uint64_t seed);
    void fill(std::span<std::uint8_t> out) override;

private:
    std::uint8_t seed_[32];
    std::uint64_t counter_ = 0;
};

}  // namespace ztna::tunnel
