// Whether an interface is "under load" (whitepaper 5.3): more handshake
// messages per second than it wants to answer without proof of address. Fed
// by the embedder's receive path with the time of each handshake message.
#pragma once

#include <cstdint>

#include "constants.h"

namespace ztna::tunnel {

class HandshakeLoad {
public:
    explicit HandshakeLoad(std::uint32_t per_second = limits::kUnderLoadHandshakesPerSecond) : limit_(per_second) {}

    void count(Duration now) {
        roll(now);
        ++this_second_;
    }
    // Under load while this second or the one before went over the limit.
    bool under_load(Duration now) {
        roll(now);
        return this_second_ > limit_ || last_second_ > limit_;
    }

private:
    void roll(Duration now) {
        const Duration since = now - start_;
        if (since < std::chrono::seconds(1)) return;
        last_second_ = since < std::chrono::seconds(2) ? this_second_ : 0;
        this_second_ = 0;
        start_ = now;
    }
    std::uint32_t limit_;
    Duration start_{};
    std::uint32_t this_second_ = 0;
    std::uint32_t last_second_ = 0;
};

}  // namespace ztna::tunnel
