// The timers of whitepaper section 6, driven by moving the fake clock.
#include <doctest/doctest.h>

#include <set>

#include "pair_harness.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {
constexpr Duration kNs{1};

bool is_initiation(const Pair& p, const TunnResult& r) {
    return r.op == Op::WriteToNetwork && r.size == spec::kInitiationSize && p.buf[0] == spec::kTypeInitiation;
}
bool is_keepalive(const Pair& p, const TunnResult& r) {
    return r.op == Op::WriteToNetwork && r.size == spec::kDataMinSize && p.buf[0] == spec::kTypeData;
}
// Moves the clock to t (never backwards).
void move_to(Pair& p, Duration t) {
    REQUIRE(t >= p.clock.now);
    p.clock.advance(t - p.clock.now);
}
}  // namespace

TEST_CASE("timers: nothing is armed on a fresh peer; update_timers does nothing") {
    Pair p;
    CHECK_FALSE(p.a.peer->next_deadline());
    p.clock.advance(1000s);
    CHECK(p.tick(p.a).op == Op::Done);
}

TEST_CASE("timers: rekey after time - the initiator's send after Rekey-After-Time starts a handshake") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;

    move_to(p, t0 + spec::kRekeyAfterTime - kNs);
    REQUIRE(p.encapsulate(p.a, ipv4_packet(60)).op == Op::WriteToNetwork);
    CHECK(p.tick(p.a).op == Op::Done);

    move_to(p, t0 + spec::kRekeyAfterTime);
    const TunnResult data = p.encapsulate(p.a, ipv4_packet(60));
    REQUIRE(data.op == Op::WriteToNetwork);  // the session still carries data
    CHECK(data.size != spec::kInitiationSize);
    const TunnResult r = p.tick(p.a);
    CHECK(is_initiation(p, r));
    // Only one: the next tick has nothing to do.
    CHECK(p.tick(p.a).op == Op::Done);
}

TEST_CASE("timers: rekey after time applies to the initiator only") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;
    move_to(p, t0 + spec::kRekeyAfterTime + 1s);
    REQUIRE(p.encapsulate(p.b, ipv4_packet(60)).op == Op::WriteToNetwork);
    CHECK(p.tick(p.b).op == Op::Done);
}

TEST_CASE("timers: the initiator rekeys when receiving on a session near Reject-After-Time") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;
    const Duration threshold = spec::kRejectAfterTime - spec::kKeepaliveTimeout - spec::kRekeyTimeout;

    move_to(p, t0 + threshold - kNs);
    REQUIRE(send_packet(p, p.b, ipv4_packet(60)).op == Op::WriteToTunnelV4);
    CHECK(p.tick(p.a).op == Op::Done);

    move_to(p, t0 + threshold);
    REQUIRE(send_packet(p, p.b, ipv4_packet(60)).op == Op::WriteToTunnelV4);
    CHECK(is_initiation(p, p.tick(p.a)));
}

TEST_CASE("timers: reject after time - no data is sent on an expired session") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;

    move_to(p, t0 + spec::kRejectAfterTime - kNs);
    CHECK(p.a.peer->has_session(p.clock.now));
    move_to(p, t0 + spec::kRejectAfterTime);
    CHECK_FALSE(p.a.peer->has_session(p.clock.now));
    CHECK_FALSE(p.b.peer->has_session(p.clock.now));

    // The packet is queued and a handshake starts instead.
    const TunnResult r = p.encapsulate(p.a, ipv4_packet(60));
    CHECK(is_initiation(p, r));
    CHECK(p.a.peer->queued() == 1);
    // The responder side does the same.
    const TunnResult rb = p.encapsulate(p.b, ipv4_packet(60));
    CHECK(is_initiation(p, rb));
    CHECK(p.b.peer->queued() == 1);
}

TEST_CASE("timers: reject after time - data received on a session 180 s old is dropped") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;

    move_to(p, t0 + 170s);
    const TunnResult m1 = p.encapsulate(p.b, ipv4_packet(60, 1));
    REQUIRE(m1.op == Op::WriteToNetwork);
    const auto first = p.sent(m1.size);
    const TunnResult m2 = p.encapsulate(p.b, ipv4_packet(60, 2));
    REQUIRE(m2.op == Op::WriteToNetwork);
    const auto second = p.sent(m2.size);

    move_to(p, t0 + spec::kRejectAfterTime - kNs);
    CHECK(p.deliver_bytes(p.a, first).op == Op::WriteToTunnelV4);
    move_to(p, t0 + spec::kRejectAfterTime);
    const TunnResult r = p.deliver_bytes(p.a, second);
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::ExpiredSession);
    CHECK(p.drops(p.a, DropReason::ExpiredSession) == 1);
}

TEST_CASE("timers: keepalive after receiving data and sending nothing for Keepalive-Timeout") {
    Pair p;
    complete_handshake(p, p.a);
    p.clock.advance(1s);
    REQUIRE(send_packet(p, p.b, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    const Duration t = p.clock.now;
    REQUIRE(p.a.peer->next_deadline());
    CHECK(*p.a.peer->next_deadline() == t + spec::kKeepaliveTimeout);

    move_to(p, t + spec::kKeepaliveTimeout - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
    move_to(p, t + spec::kKeepaliveTimeout);
    const TunnResult r = p.tick(p.a);
    REQUIRE(is_keepalive(p, r));
    CHECK(r.size == 32);
    CHECK(p.tick(p.a).op == Op::Done);  // once

    // b accepts it; it also tells b that a is alive, so b does not start a new handshake.
    const TunnResult in = p.deliver(p.b, r.size);
    CHECK(in.op == Op::Done);
    CHECK(in.authenticated);
    p.clock.advance(spec::kKeepaliveTimeout + spec::kRekeyTimeout);
    CHECK(p.tick(p.b).op == Op::Done);
}

TEST_CASE("timers: no keepalive when data was sent back in time") {
    Pair p;
    complete_handshake(p, p.a);
    p.clock.advance(1s);
    REQUIRE(send_packet(p, p.b, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    p.clock.advance(5s);
    REQUIRE(send_packet(p, p.a, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    // The keepalive would have been due 10 s after receiving; the new-handshake
    // timer of a's own packet is due 15 s after sending it.
    p.clock.advance(5s);
    CHECK(p.tick(p.a).op == Op::Done);
    p.clock.advance(15s - 5s - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
}

TEST_CASE("timers: a second packet received while the keepalive is armed asks for another keepalive") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t = p.clock.now;
    REQUIRE(send_packet(p, p.b, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    move_to(p, t + 3s);
    REQUIRE(send_packet(p, p.b, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    move_to(p, t + spec::kKeepaliveTimeout);
    CHECK(is_keepalive(p, p.tick(p.a)));
    move_to(p, t + 2 * spec::kKeepaliveTimeout - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
    move_to(p, t + 2 * spec::kKeepaliveTimeout);
    CHECK(is_keepalive(p, p.tick(p.a)));
}

TEST_CASE("timers: a new handshake after sending data and hearing nothing for 15 s") {
    for (bool initiator_sends : {true, false}) {
        CAPTURE(initiator_sends);
        Pair p;
        complete_handshake(p, p.a);
        Side& s = initiator_sends ? p.a : p.b;
        p.clock.advance(1s);
        const Duration t = p.clock.now;
        REQUIRE(p.encapsulate(s, ipv4_packet(100)).op == Op::WriteToNetwork);  // lost
        // More sends do not push the deadline back.
        move_to(p, t + 7s);
        REQUIRE(p.encapsulate(s, ipv4_packet(100)).op == Op::WriteToNetwork);

        move_to(p, t + spec::kKeepaliveTimeout + spec::kRekeyTimeout - kNs);
        CHECK(p.tick(s).op == Op::Done);
        move_to(p, t + spec::kKeepaliveTimeout + spec::kRekeyTimeout);
        CHECK(is_initiation(p, p.tick(s)));
    }
}

TEST_CASE("timers: hearing back in time cancels the new-handshake timer") {
    Pair p;
    complete_handshake(p, p.a);
    p.clock.advance(1s);
    REQUIRE(send_packet(p, p.a, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    p.clock.advance(2s);
    REQUIRE(send_packet(p, p.b, ipv4_packet(100)).op == Op::WriteToTunnelV4);
    p.clock.advance(spec::kKeepaliveTimeout + spec::kRekeyTimeout);
    int actions = 0;
    for (TunnResult r = p.tick(p.a); r.op != Op::Done; r = p.tick(p.a)) {
        CHECK_FALSE(is_initiation(p, r));
        REQUIRE(++actions < 5);
    }
    CHECK(actions == 1);  // the keepalive owed for b's packet
}

TEST_CASE("timers: handshake retransmit with jitter, then give up after kMaxHandshakeAttempts retries") {
    for (std::uint64_t seed : {1ull, 2ull, 3ull}) {
        CAPTURE(seed);
        Pair p;
        p.rng = SeededRng(seed);
        REQUIRE(is_initiation(p, p.encapsulate(p.a, ipv4_packet(60))));
        const Duration start = p.clock.now;
        Duration sent = p.clock.now;
        int retries = 0;
        std::set<Duration::rep> intervals;
        for (;;) {
            const auto deadline = p.a.peer->next_deadline();
            REQUIRE(deadline);
            const Duration interval = *deadline - sent;
            CHECK(interval >= spec::kRekeyTimeout);
            CHECK(interval < spec::kRekeyTimeout + spec::kRekeyTimeoutJitterMax);
            move_to(p, *deadline - kNs);
            REQUIRE(p.tick(p.a).op == Op::Done);
            move_to(p, *deadline);
            const TunnResult r = p.tick(p.a);
            if (r.op == Op::Done) break;
            REQUIRE(is_initiation(p, r));
            ++retries;
            REQUIRE(retries <= limits::kMaxHandshakeAttempts + 1);
            CHECK(p.a.peer->stats().handshake_attempts == std::uint32_t(retries + 1));
            CHECK(p.a.peer->queued() == 1);
            intervals.insert(interval.count());
            sent = p.clock.now;
        }
        CHECK(retries == limits::kMaxHandshakeAttempts + 1);  // as wireguard-go and the kernel: attempts > 18 gives up
        CHECK(p.clock.now - start >= spec::kRekeyAttemptTime);
        CHECK(p.a.peer->queued() == 0);  // given up: the queue is cleared
        CHECK(intervals.size() > 1);     // jittered, not a fixed interval
        // Only the key-zeroing deadline is left, and ticks do nothing more.
        REQUIRE(p.a.peer->next_deadline());
        CHECK(*p.a.peer->next_deadline() == p.clock.now + 3 * spec::kRejectAfterTime);
        p.clock.advance(30s);
        CHECK(p.tick(p.a).op == Op::Done);

        // A new packet starts a fresh handshake with a fresh attempt count.
        REQUIRE(is_initiation(p, p.encapsulate(p.a, ipv4_packet(60))));
        CHECK(p.a.peer->stats().handshake_attempts == 1);
    }
}

TEST_CASE("timers: a completed handshake stops the retransmissions") {
    Pair p;
    const TunnResult init = p.encapsulate(p.a, ipv4_packet(60));
    REQUIRE(is_initiation(p, init));
    const TunnResult resp = p.deliver(p.b, init.size);
    REQUIRE(resp.op == Op::WriteToNetwork);
    p.relay(resp.size);
    REQUIRE(p.deliver(p.a, resp.size).op == Op::WriteToNetwork);
    p.clock.advance(spec::kRekeyTimeout + spec::kRekeyTimeoutJitterMax);
    CHECK(p.tick(p.a).op == Op::Done);
}

TEST_CASE("timers: initiations are rate limited to one per Rekey-Timeout") {
    Pair p;
    REQUIRE(is_initiation(p, p.encapsulate(p.a, ipv4_packet(60))));
    move_to(p, p.clock.now + spec::kRekeyTimeout - kNs);
    // Not a retransmission (that one is jittered past 5 s), just another packet.
    CHECK(p.encapsulate(p.a, ipv4_packet(60)).op == Op::Done);
    p.clock.advance(kNs);
    CHECK(is_initiation(p, p.encapsulate(p.a, ipv4_packet(60))));
}

TEST_CASE("timers: keys are zeroed after 3 x Reject-After-Time without a new handshake") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;
    // A message from b on the session, delivered much later.
    const TunnResult m = p.encapsulate(p.b, ipv4_packet(60));
    REQUIRE(m.op == Op::WriteToNetwork);
    const auto msg = p.sent(m.size);
    const TunnResult m2 = p.encapsulate(p.b, ipv4_packet(60));
    REQUIRE(m2.op == Op::WriteToNetwork);
    const auto msg2 = p.sent(m2.size);

    REQUIRE(p.a.peer->next_deadline());
    CHECK(*p.a.peer->next_deadline() == t0 + 3 * spec::kRejectAfterTime);
    move_to(p, t0 + 3 * spec::kRejectAfterTime - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
    // The session still exists (expired): the message is refused as expired.
    TunnResult r = p.deliver_bytes(p.a, msg);
    CHECK(r.reason == DropReason::ExpiredSession);

    move_to(p, t0 + 3 * spec::kRejectAfterTime);
    CHECK(p.tick(p.a).op == Op::Done);
    // Now the keys are gone: the index is unknown.
    r = p.deliver_bytes(p.a, msg2);
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::UnknownIndex);
    CHECK_FALSE(p.a.peer->next_deadline());
}

TEST_CASE("timers: regular ticks do not push the key-zeroing deadline back") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration t0 = p.clock.now;
    // b's message sealed now, delivered at the end.
    const TunnResult m = p.encapsulate(p.b, ipv4_packet(60));
    REQUIRE(m.op == Op::WriteToNetwork);
    const auto msg = p.sent(m.size);
    // Zeroing happens on the deadline even while ticks happen regularly.
    for (Duration t = t0; t < t0 + 3 * spec::kRejectAfterTime; t += 10s) {
        move_to(p, t);
        (void)p.tick(p.a);
    }
    move_to(p, t0 + 3 * spec::kRejectAfterTime);
    (void)p.tick(p.a);
    CHECK(p.deliver_bytes(p.a, msg).reason == DropReason::UnknownIndex);
}

TEST_CASE("timers: persistent keepalive") {
    Pair p;
    complete_handshake(p, p.a);
    const Duration every = 25s;
    p.a.peer->set_persistent_keepalive(every, p.clock.now);
    CHECK(p.a.peer->persistent_keepalive() == every);
    const Duration t = p.clock.now;
    REQUIRE(p.a.peer->next_deadline());
    CHECK(*p.a.peer->next_deadline() == t + every);

    move_to(p, t + every - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
    move_to(p, t + every);
    TunnResult r = p.tick(p.a);
    REQUIRE(is_keepalive(p, r));
    const TunnResult in = p.deliver(p.b, r.size);
    CHECK(in.op == Op::Done);
    CHECK(in.authenticated);

    // Re-armed for the next interval.
    move_to(p, t + 2 * every - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
    move_to(p, t + 2 * every);
    CHECK(is_keepalive(p, p.tick(p.a)));

    // Sending something pushes it back.
    move_to(p, t + 2 * every + 10s);
    Env e = p.env();
    REQUIRE(is_keepalive(p, p.a.peer->send_keepalive(p.buf, e)));
    move_to(p, t + 3 * every);
    CHECK(p.tick(p.a).op == Op::Done);
    move_to(p, t + 3 * every + 10s - kNs);
    CHECK(p.tick(p.a).op == Op::Done);
    move_to(p, t + 3 * every + 10s);
    CHECK(is_keepalive(p, p.tick(p.a)));

    // Switched off: nothing more.
    p.a.peer->set_persistent_keepalive(0s, p.clock.now);
    p.clock.advance(4 * every);
    CHECK(p.tick(p.a).op == Op::Done);
}

TEST_CASE("timers: persistent keepalive without a session starts a handshake") {
    Pair p;
    p.a.peer->set_persistent_keepalive(25s, p.clock.now);
    p.clock.advance(25s);
    CHECK(is_initiation(p, p.tick(p.a)));
}
