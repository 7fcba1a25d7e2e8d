#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include "replay_window.h"

using namespace ztna::tunnel;

namespace {
constexpr std::uint64_t W = ReplayWindow::window();
constexpr std::uint64_t kRingBits = ReplayWindow::kBlocks * ReplayWindow::kBlockBits;
}  // namespace

TEST_CASE("replay window: the window is the ring minus one block") {
    CHECK(W == limits::kReplayWindowBits - ReplayWindow::kBlockBits);
    CHECK(W == 8128);  // as wireguard-go
    CHECK(kRingBits == limits::kReplayWindowBits);
}

TEST_CASE("replay window: counter 0 is accepted exactly once") {
    ReplayWindow w;
    CHECK(w.may_accept(0));
    CHECK(w.accept(0));
    CHECK_FALSE(w.may_accept(0));
    CHECK_FALSE(w.accept(0));
    CHECK(w.accept(1));
    CHECK_FALSE(w.accept(0));
}

TEST_CASE("replay window: duplicates are refused, in order and out of order") {
    ReplayWindow w;
    for (std::uint64_t c = 0; c < 200; ++c) REQUIRE(w.accept(c));
    for (std::uint64_t c = 0; c < 200; ++c) CHECK_FALSE(w.accept(c));

    ReplayWindow o;
    CHECK(o.accept(10));
    CHECK(o.accept(5));
    CHECK(o.accept(7));
    CHECK_FALSE(o.accept(5));
    CHECK_FALSE(o.accept(7));
    CHECK_FALSE(o.accept(10));
    CHECK(o.accept(6));
    CHECK(o.accept(0));
    CHECK_FALSE(o.accept(0));
}

TEST_CASE("replay window: may_accept does not change state") {
    ReplayWindow w;
    for (int i = 0; i < 5; ++i) CHECK(w.may_accept(42));
    CHECK(w.accept(42));
    CHECK_FALSE(w.may_accept(42));
    // A check of a far-future counter must not move the window either.
    CHECK(w.may_accept(1'000'000));
    CHECK(w.accept(41));
}

TEST_CASE("replay window: exactly at the window edge, at every alignment") {
    // For each highest counter, last - W is the oldest acceptable and last - W - 1 is too old.
    for (std::uint64_t last : std::initializer_list<std::uint64_t>{W, W + 1, kRingBits - 1, kRingBits, kRingBits + 1, 3 * kRingBits + 63,
                               3 * kRingBits + 64, 123'456'789ull, (1ull << 40) + 17}) {
        CAPTURE(last);
        ReplayWindow w;
        REQUIRE(w.accept(last));
        if (last > W) {
            CHECK_FALSE(w.may_accept(last - W - 1));
            CHECK_FALSE(w.accept(last - W - 1));
        }
        CHECK(w.may_accept(last - W));
        // Every counter of the window is accepted once and only once.
        for (std::uint64_t c = last - W; c < last; ++c) REQUIRE(w.accept(c));
        for (std::uint64_t c = last - W; c <= last; ++c) REQUIRE_FALSE(w.may_accept(c));
        CHECK(w.accept(last + 1));
        CHECK_FALSE(w.accept(last - W));  // now one past the edge, and seen anyway
    }
}

TEST_CASE("replay window: far-old counters are refused") {
    ReplayWindow w;
    REQUIRE(w.accept(100'000));
    CHECK_FALSE(w.accept(0));
    CHECK_FALSE(w.accept(100'000 - W - 1));
    CHECK_FALSE(w.accept(100'000 - 5 * W));
    CHECK(w.accept(100'000 - W));
}

TEST_CASE("replay window: far-future jumps") {
    ReplayWindow w;
    REQUIRE(w.accept(0));
    REQUIRE(w.accept(1));
    const std::uint64_t far = 1ull << 40;
    CHECK(w.accept(far));
    CHECK_FALSE(w.accept(0));
    CHECK_FALSE(w.accept(1));
    CHECK_FALSE(w.accept(far));
    CHECK(w.accept(far - 1));
    CHECK(w.accept(far - W));
    CHECK_FALSE(w.accept(far - W - 1));
    // And a jump to just below the limit.
    const std::uint64_t top = spec::kRejectAfterMessages - 1;
    CHECK(w.accept(top));
    CHECK_FALSE(w.accept(far - 1));
    CHECK(w.accept(top - W));
    CHECK_FALSE(w.accept(top));
}

TEST_CASE("replay window: jumps around and beyond the ring size clear stale bits and keep fresh ones") {
    // Fill a whole window below base, jump ahead by `jump`, and check each
    // counter of the new window: seen ones (<= base) refused, the rest accepted.
    // Jumps of the ring size or more alias the same ring blocks.
    const std::uint64_t base = 50'000;
    for (std::uint64_t jump : std::initializer_list<std::uint64_t>{1ull, 63ull, 64ull, 65ull, 127ull, W - 1, W, W + 1, kRingBits - 64, kRingBits - 1,
                               kRingBits, kRingBits + 1, kRingBits + 64, 2 * kRingBits, 3 * kRingBits + 17}) {
        CAPTURE(jump);
        ReplayWindow w;
        for (std::uint64_t c = base - W; c <= base; ++c) REQUIRE(w.accept(c));
        REQUIRE(w.accept(base + jump));
        const std::uint64_t top = base + jump;
        int wrong = 0;
        for (std::uint64_t c = top - W; c < top; ++c)
            if (w.may_accept(c) != (c > base)) ++wrong;
        CHECK(wrong == 0);
        CHECK_FALSE(w.may_accept(top - W - 1));
        // The fresh counters can really be taken, once.
        for (std::uint64_t c = std::max(base + 1, top - W); c < top; ++c) REQUIRE(w.accept(c));
        for (std::uint64_t c = top - W; c <= top; ++c) REQUIRE_FALSE(w.may_accept(c));
    }
}

TEST_CASE("replay window: a counter one ring ahead does not inherit the old bit") {
    ReplayWindow w;
    REQUIRE(w.accept(100));
    // 100 + ring lands on the same bit of the same block.
    CHECK(w.accept(100 + kRingBits));
    CHECK_FALSE(w.accept(100 + kRingBits));
    // ...and 100 + ring - 64 (same block index as the block before) was never seen.
    CHECK(w.accept(100 + kRingBits - 64));
}

TEST_CASE("replay window: counters at or over Reject-After-Messages are refused") {
    ReplayWindow w;
    CHECK_FALSE(w.may_accept(spec::kRejectAfterMessages));
    CHECK_FALSE(w.accept(spec::kRejectAfterMessages));
    CHECK_FALSE(w.accept(spec::kRejectAfterMessages + 1));
    CHECK_FALSE(w.accept(std::numeric_limits<std::uint64_t>::max()));
    // Refusing them did not move the window.
    CHECK(w.accept(0));
    CHECK(w.accept(spec::kRejectAfterMessages - 1));
    CHECK_FALSE(w.accept(spec::kRejectAfterMessages - 1));
    CHECK_FALSE(w.accept(spec::kRejectAfterMessages));
    CHECK(w.accept(spec::kRejectAfterMessages - 2));
}

TEST_CASE("replay window: reset forgets everything") {
    ReplayWindow w;
    REQUIRE(w.accept(7));
    REQUIRE(w.accept(1'000'000));
    w.reset();
    CHECK(w.accept(7));
    CHECK(w.accept(0));
    CHECK(w.accept(1'000'000));
}
