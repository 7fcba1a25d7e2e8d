// MAC2 and cookie replies under load (whitepaper 5.4.7, 6.6).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>

#include "pair_harness.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {
const std::array<std::uint8_t, 6> kSrc1{192, 0, 2, 1, 0xca, 0x6c};  // 192.0.2.1:51820
const std::array<std::uint8_t, 6> kSrc2{192, 0, 2, 2, 0xca, 0x6c};

bool mac2_is_zero(std::span<const std::uint8_t> msg) {
    const auto mac2 = msg.subspan(msg.size() - 16);
    return std::all_of(mac2.begin(), mac2.end(), [](std::uint8_t b) { return b == 0; });
}

// a sends an initiation (queued packet behind it); returns its bytes.
std::vector<std::uint8_t> first_initiation(Pair& p) {
    const TunnResult r = p.encapsulate(p.a, ipv4_packet(60));
    REQUIRE(r.op == Op::WriteToNetwork);
    REQUIRE(r.size == spec::kInitiationSize);
    return p.sent(r.size);
}

// Under load without mac2: b answers a cookie reply; returns it.
std::vector<std::uint8_t> cookie_reply_for(Pair& p, const std::vector<std::uint8_t>& init,
                                           std::span<const std::uint8_t> src) {
    const TunnResult c = p.deliver_bytes(p.b, init, true, src);
    REQUIRE(c.op == Op::WriteToNetwork);
    REQUIRE(c.size == spec::kCookieReplySize);
    REQUIRE(c.reason == DropReason::CookieSent);
    REQUIRE(p.buf2[0] == spec::kTypeCookieReply);
    return p.produced(c.size);
}

// a's next retransmission (moves the clock to its deadline).
std::vector<std::uint8_t> retransmission(Pair& p) {
    const auto deadline = p.a.peer->next_deadline();
    REQUIRE(deadline);
    p.clock.advance(*deadline - p.clock.now);
    const TunnResult r = p.tick(p.a);
    REQUIRE(r.op == Op::WriteToNetwork);
    REQUIRE(r.size == spec::kInitiationSize);
    return p.sent(r.size);
}
}  // namespace

TEST_CASE("cookie: under load, an initiation without mac2 gets a 64-byte cookie reply and no handshake") {
    Pair p;
    const auto init = first_initiation(p);
    CHECK(mac2_is_zero(init));
    const auto reply = cookie_reply_for(p, init, kSrc1);
    CHECK(reply.size() == 64);
    CHECK(p.responder_drops(p.b, DropReason::CookieSent) == 1);
    // Addressed to the initiation's sender index.
    CHECK(std::equal(reply.begin() + 4, reply.begin() + 8, init.begin() + 4));
    // b's peer never saw it.
    CHECK(p.b.peer->stats().rx_bytes == 0);
    CHECK_FALSE(p.b.peer->has_session(p.clock.now));
}

TEST_CASE("cookie: not under load, mac2 is not needed") {
    Pair p;
    const auto init = first_initiation(p);
    const TunnResult r = p.deliver_bytes(p.b, init, false, kSrc1);
    CHECK(r.op == Op::WriteToNetwork);
    CHECK(r.size == spec::kResponseSize);
}

TEST_CASE("cookie: the initiator consumes the reply, retransmits with mac2, and is accepted under load") {
    Pair p;
    const auto init = first_initiation(p);
    const auto reply = cookie_reply_for(p, init, kSrc1);

    const TunnResult consumed = p.deliver_bytes(p.a, reply);
    CHECK(consumed.op == Op::Done);
    for (auto d : p.a.peer->stats().drops) CHECK(d == 0);

    const auto again = retransmission(p);
    CHECK_FALSE(mac2_is_zero(again));

    const TunnResult resp = p.deliver_bytes(p.b, again, true, kSrc1);
    REQUIRE(resp.op == Op::WriteToNetwork);
    REQUIRE(resp.size == spec::kResponseSize);
    CHECK(p.responder_drops(p.b, DropReason::CookieSent) == 1);  // no second cookie

    // And the handshake completes with the queued packet.
    p.relay(resp.size);
    const TunnResult data = p.deliver(p.a, resp.size);
    REQUIRE(data.op == Op::WriteToNetwork);
    p.relay(data.size);
    const TunnResult in = p.deliver(p.b, data.size, true, kSrc1);
    CHECK(in.op == Op::WriteToTunnelV4);
    CHECK(in.size == 60);
}

TEST_CASE("cookie: a cookie for another source address is refused") {
    Pair p;
    const auto init = first_initiation(p);
    const auto reply = cookie_reply_for(p, init, kSrc1);
    REQUIRE(p.deliver_bytes(p.a, reply).op == Op::Done);
    const auto again = retransmission(p);
    REQUIRE_FALSE(mac2_is_zero(again));

    // Same bytes from another address: mac2 does not match that address's cookie.
    const TunnResult other = p.deliver_bytes(p.b, again, true, kSrc2);
    CHECK(other.op == Op::WriteToNetwork);
    CHECK(other.reason == DropReason::CookieSent);
    CHECK(other.size == spec::kCookieReplySize);
    CHECK(p.responder_drops(p.b, DropReason::CookieSent) == 2);
    CHECK(p.b.peer->stats().rx_bytes == 0);
    // From the right one it is fine.
    const TunnResult right = p.deliver_bytes(p.b, again, true, kSrc1);
    CHECK(right.op == Op::WriteToNetwork);
    CHECK(right.size == spec::kResponseSize);
}

TEST_CASE("cookie: a tampered mac2 is refused under load") {
    Pair p;
    const auto init = first_initiation(p);
    REQUIRE(p.deliver_bytes(p.a, cookie_reply_for(p, init, kSrc1)).op == Op::Done);
    auto again = retransmission(p);
    for (std::size_t off = layout::init::kMac2; off < spec::kInitiationSize; ++off) {
        CAPTURE(off);
        auto bad = again;
        bad[off] ^= 0x01;
        const TunnResult r = p.deliver_bytes(p.b, bad, true, kSrc1);
        CHECK(r.reason == DropReason::CookieSent);
    }
    CHECK(p.b.peer->stats().rx_bytes == 0);
}

TEST_CASE("cookie: under load, a bad mac1 is dropped without a cookie reply") {
    Pair p;
    auto init = first_initiation(p);
    init[layout::init::kMac1] ^= 0xff;
    const TunnResult r = p.deliver_bytes(p.b, init, true, kSrc1);
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::BadMac1);
    CHECK(p.responder_drops(p.b, DropReason::CookieSent) == 0);
}

TEST_CASE("cookie: the cookie expires after Cookie-Refresh-Time") {
    Pair p;
    const auto init = first_initiation(p);
    REQUIRE(p.deliver_bytes(p.a, cookie_reply_for(p, init, kSrc1)).op == Op::Done);
    p.clock.advance(spec::kCookieRefreshTime);
    Env e = p.env();
    const TunnResult r = p.a.peer->force_handshake(p.buf, e);
    REQUIRE(r.op == Op::WriteToNetwork);
    CHECK(mac2_is_zero(p.sent(r.size)));
}

TEST_CASE("cookie: the responder's secret expires after Cookie-Refresh-Time") {
    Pair p;
    const auto init = first_initiation(p);
    REQUIRE(p.deliver_bytes(p.a, cookie_reply_for(p, init, kSrc1)).op == Op::Done);
    // The initiator still holds the cookie (used just before its lifetime ends),
    // but b's secret that made it is older than two minutes by the time it arrives.
    p.clock.advance(spec::kCookieRefreshTime - 1s);
    Env e = p.env();
    const TunnResult r = p.a.peer->force_handshake(p.buf, e);
    REQUIRE(r.op == Op::WriteToNetwork);
    const auto msg = p.sent(r.size);
    REQUIRE_FALSE(mac2_is_zero(msg));
    CHECK(p.deliver_bytes(p.b, msg, true, kSrc1).size == spec::kResponseSize);
    // Two minutes after b made its secret the same mac2 is no longer valid: the
    // datagram is answered with a cookie before any peer sees it (else: StaleTimestamp).
    p.clock.advance(2s);
    const TunnResult late = p.deliver_bytes(p.b, msg, true, kSrc1);
    CHECK(late.op == Op::WriteToNetwork);
    CHECK(late.reason == DropReason::CookieSent);
    CHECK(p.drops(p.b, DropReason::StaleTimestamp) == 0);
    // Not under load the same bytes reach the peer and are a replay.
    CHECK(p.deliver_bytes(p.b, msg).reason == DropReason::StaleTimestamp);
}

TEST_CASE("cookie: replies that do not match are refused and counted") {
    SUBCASE("tampered at any byte after the header") {
        Pair p;
        const auto init = first_initiation(p);
        const auto reply = cookie_reply_for(p, init, kSrc1);
        for (std::size_t off = layout::cookie::kNonce; off < spec::kCookieReplySize; ++off) {
            CAPTURE(off);
            auto bad = reply;
            bad[off] ^= 0x20;
            const TunnResult r = p.deliver_bytes(p.a, bad);
            CHECK(r.op == Op::Drop);
            CHECK(r.reason == DropReason::BadCookieReply);
        }
        CHECK(p.drops(p.a, DropReason::BadCookieReply) == spec::kCookieReplySize - layout::cookie::kNonce);
        // The genuine one still works afterwards, once.
        CHECK(p.deliver_bytes(p.a, reply).op == Op::Done);
        const TunnResult twice = p.deliver_bytes(p.a, reply);
        CHECK(twice.reason == DropReason::BadCookieReply);
    }
    SUBCASE("a reply to an older initiation is refused") {
        Pair p;
        const auto init = first_initiation(p);
        const auto reply = cookie_reply_for(p, init, kSrc1);
        (void)retransmission(p);  // a new initiation with another index and mac1
        const TunnResult r = p.deliver_bytes(p.a, reply);
        CHECK(r.op == Op::Drop);
        CHECK(r.reason == DropReason::UnexpectedResponse);
    }
    SUBCASE("no handshake in flight") {
        Pair p;
        const auto init = first_initiation(p);
        const auto reply = cookie_reply_for(p, init, kSrc1);
        // Complete the handshake without load; the reply then arrives late.
        const TunnResult resp = p.deliver_bytes(p.b, init);
        REQUIRE(resp.op == Op::WriteToNetwork);
        p.relay(resp.size);
        REQUIRE(p.deliver(p.a, resp.size).op == Op::WriteToNetwork);
        const TunnResult r = p.deliver_bytes(p.a, reply);
        CHECK(r.op == Op::Drop);
        CHECK(r.reason == DropReason::UnexpectedResponse);
        CHECK(p.drops(p.a, DropReason::UnexpectedResponse) == 1);
    }
}
