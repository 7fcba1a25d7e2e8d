// Sliding window against replayed transport counters (RFC 6479 style ring of
// 64-bit blocks). Accepts each counter at most once, refuses counters more
// than window() behind the highest seen and counters at or over the limit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "constants.h"

namespace ztna::tunnel {

class ReplayWindow {
public:
    static constexpr std::size_t kBlockBits = 64;
    static constexpr std::size_t kBlocks = limits::kReplayWindowBits / kBlockBits;
    static constexpr std::uint64_t window() { return (kBlocks - 1) * kBlockBits; }

    // Cheap check before decryption; does not change state.
    bool may_accept(std::uint64_t counter) const;
    // After the packet authenticated: marks counter seen; false if replayed or too old.
    bool accept(std::uint64_t counter);
    void reset();

private:
    std::uint64_t last_ = 0;
    std::array<std::uint64_t, kBlocks> ring_{};
};

}  // namespace ztna::tunnel
