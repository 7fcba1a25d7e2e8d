#include "replay_window.h"

namespace ztna::tunnel {

bool ReplayWindow::may_accept(std::uint64_t counter) const {
    if (counter >= spec::kRejectAfterMessages) return false;
    if (counter > last_) return true;
    if (last_ - counter > window()) return false;
    const std::uint64_t block = (counter / kBlockBits) % kBlocks;
    return (ring_[block] & (1ull << (counter % kBlockBits))) == 0;
}

bool ReplayWindow::accept(std::uint64_t counter) {
    if (!may_accept(counter)) return false;
    if (counter > last_) {
        const std::uint64_t current = last_ / kBlockBits;
        std::uint64_t diff = counter / kBlockBits - current;
        if (diff > kBlocks) diff = kBlocks;
        for (std::uint64_t i = 1; i <= diff; ++i) ring_[(current + i) % kBlocks] = 0;
        last_ = counter;
    }
    ring_[(counter / kBlockBits) % kBlocks] |= 1ull << (counter % kBlockBits);
    return true;
}

void ReplayWindow::reset() {
    last_ = 0;
    ring_.fill(0);
}

}  // namespace ztna::tunnel
