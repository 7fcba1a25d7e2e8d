// The responder side of handshakes: replayed and flooded initiations,
// wrong keys, unknown peers, wrong preshared keys.
#include <doctest/doctest.h>

#include "cookie.h"
#include "pair_harness.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {
// A third side c with its own identity; its peer is `remote`.
void make_side(Pair& p, Side& c, const PublicKey& remote, std::uint32_t base) {
    c.id = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(generate_private_key(p.rng)));
    c.responder = std::make_unique<Responder>(c.id);
    c.base = base;
    c.peer = std::make_unique<Peer>(c.id, remote, p.psk, base);
}

std::vector<std::uint8_t> initiation_from(Pair& p, Side& s) {
    Env e = p.env();
    const TunnResult r = s.peer->force_handshake(p.buf, e);
    REQUIRE(r.op == Op::WriteToNetwork);
    REQUIRE(r.size == spec::kInitiationSize);
    return p.sent(r.size);
}
}  // namespace

TEST_CASE("TAI64N: replaying the same initiation bytes is dropped as StaleTimestamp") {
    Pair p;
    const auto init = initiation_from(p, p.a);
    const TunnResult resp = p.deliver_bytes(p.b, init);
    REQUIRE(resp.op == Op::WriteToNetwork);
    const auto response = p.produced(resp.size);

    for (Duration later : {Duration(0), Duration(1s)}) {
        CAPTURE(later.count());
        p.clock.advance(later);
        const TunnResult again = p.deliver_bytes(p.b, init);
        CHECK(again.op == Op::Drop);
        CHECK(again.reason == DropReason::StaleTimestamp);
    }
    CHECK(p.drops(p.b, DropReason::StaleTimestamp) == 2);
    CHECK(p.b.peer->stats().tx_bytes == spec::kResponseSize);  // answered once

    // The replays did not disturb the session offered by the first answer.
    const TunnResult confirm = p.deliver_bytes(p.a, response);
    REQUIRE(confirm.op == Op::WriteToNetwork);
    p.relay(confirm.size);
    CHECK(p.deliver(p.b, confirm.size).authenticated);
    CHECK(p.b.peer->has_session(p.clock.now));

    // Still stale much later.
    p.clock.advance(10min);
    CHECK(p.deliver_bytes(p.b, init).reason == DropReason::StaleTimestamp);
    CHECK(p.drops(p.b, DropReason::StaleTimestamp) == 3);
}

TEST_CASE("TAI64N: an older initiation after a newer one is stale") {
    Pair p;
    const auto older = initiation_from(p, p.a);
    p.clock.advance(1s);
    const auto newer = initiation_from(p, p.a);
    REQUIRE(p.deliver_bytes(p.b, newer).op == Op::WriteToNetwork);
    CHECK(p.deliver_bytes(p.b, older).reason == DropReason::StaleTimestamp);
}

TEST_CASE("TAI64N: timestamps are whitened to 2^24 ns and ordered") {
    const auto base = std::chrono::nanoseconds(std::chrono::seconds(1'700'000'000));
    const Tai64n t0 = tai64n_from_unix(base);
    CHECK(t0 == tai64n_from_unix(base + std::chrono::nanoseconds((1 << 24) - 1)));
    CHECK(tai64n_after(tai64n_from_unix(base + std::chrono::nanoseconds(1 << 24)), t0));
    CHECK(tai64n_after(tai64n_from_unix(base + 1s), tai64n_from_unix(base + 999ms)));
    CHECK_FALSE(tai64n_after(t0, t0));
    // 2^62 + 10 + seconds, big-endian.
    CHECK(t0[0] == 0x40);
    const std::uint64_t secs = 0x400000000000000aull + 1'700'000'000ull;
    for (int i = 0; i < 8; ++i) CHECK(t0[i] == std::uint8_t(secs >> (56 - 8 * i)));
    for (int i = 8; i < 12; ++i) CHECK(t0[i] == 0);
}

TEST_CASE("initiation flood: more than one initiation per 20 ms is dropped") {
    CHECK(limits::kInitiationMinInterval == 20ms);
    Pair p;
    REQUIRE(p.deliver_bytes(p.b, initiation_from(p, p.a)).op == Op::WriteToNetwork);
    // 17 ms later: a newer timestamp (past one 2^24 ns step), but too soon.
    p.clock.advance(17ms);
    const TunnResult flood = p.deliver_bytes(p.b, initiation_from(p, p.a));
    CHECK(flood.op == Op::Drop);
    CHECK(flood.reason == DropReason::InitiationFlood);
    CHECK(p.drops(p.b, DropReason::InitiationFlood) == 1);
    // Once limits::kInitiationMinInterval has passed since the last accepted one, fine again.
    p.clock.advance(limits::kInitiationMinInterval - 17ms);
    const TunnResult ok = p.deliver_bytes(p.b, initiation_from(p, p.a));
    CHECK(ok.op == Op::WriteToNetwork);
    CHECK(ok.size == spec::kResponseSize);
}

TEST_CASE("wrong keys: an initiation for another responder fails mac1") {
    Pair p;
    Side c;
    make_side(p, c, p.a.id->public_key, 3);  // c even knows a as a peer
    const auto init = initiation_from(p, p.a);  // but a addressed it to b
    Env e = p.env();
    std::memcpy(p.buf.data(), init.data(), init.size());
    const TunnResult r = receive_datagram(*c.responder, c, {p.buf.data(), init.size()}, {}, p.buf2, e).result;
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::BadMac1);
    CHECK(c.responder->drops()[std::size_t(DropReason::BadMac1)] == 1);
    CHECK(c.peer->stats().rx_bytes == 0);
}

TEST_CASE("wrong keys: a valid mac1 on an initiation encrypted for another key is BadHandshake") {
    Pair p;
    Side c;
    make_side(p, c, p.a.id->public_key, 3);
    auto init = initiation_from(p, p.a);
    CookieGenerator to_c(c.id->public_key);
    to_c.add_macs(init, p.clock.now);  // mac1 right for c, contents for b
    Env e = p.env();
    std::memcpy(p.buf.data(), init.data(), init.size());
    const TunnResult r = receive_datagram(*c.responder, c, {p.buf.data(), init.size()}, {}, p.buf2, e).result;
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::BadHandshake);
    CHECK(c.responder->drops()[std::size_t(DropReason::BadHandshake)] == 1);
}

TEST_CASE("wrong keys: an initiation from a peer that is not configured is UnknownPeer") {
    Pair p;
    Side c;
    make_side(p, c, p.b.id->public_key, 3);  // c knows b, b does not know c
    const auto init = initiation_from(p, c);
    const TunnResult r = p.deliver_bytes(p.b, init);
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::UnknownPeer);
    CHECK(p.responder_drops(p.b, DropReason::UnknownPeer) == 1);
    CHECK(p.b.peer->stats().rx_bytes == 0);

    // A Peer handed an initiation from someone else refuses it too.
    HandshakeError err{};
    auto consumed = p.b.responder->consume(InitiationMsg{std::span<const std::uint8_t, spec::kInitiationSize>(
                                               init.data(), spec::kInitiationSize)},
                                           err);
    REQUIRE(consumed);
    CHECK(consumed->remote_static == c.id->public_key);
    Env e = p.env();
    const TunnResult direct = p.b.peer->handle_initiation(*consumed, p.buf2, e);
    CHECK(direct.reason == DropReason::UnknownPeer);
    CHECK(p.drops(p.b, DropReason::UnknownPeer) == 1);
}

TEST_CASE("wrong preshared key: the response does not decrypt (BadHandshake)") {
    for (bool initiator_has_psk : {false, true}) {
        CAPTURE(initiator_has_psk);
        Pair p(true);
        Key other;
        p.rng.fill(other.span());
        if (initiator_has_psk)
            p.b.peer->set_preshared_key(other);
        else
            p.a.peer->set_preshared_key(Key{});
        const auto init = initiation_from(p, p.a);
        const TunnResult resp = p.deliver_bytes(p.b, init);
        REQUIRE(resp.op == Op::WriteToNetwork);  // the psk is not in the initiation
        p.relay(resp.size);
        const TunnResult r = p.deliver(p.a, resp.size);
        CHECK(r.op == Op::Drop);
        CHECK(r.reason == DropReason::BadHandshake);
        CHECK(p.drops(p.a, DropReason::BadHandshake) == 1);
        CHECK_FALSE(p.a.peer->has_session(p.clock.now));
        CHECK(p.a.peer->stats().last_handshake.count() == 0);
    }
}

TEST_CASE("responses: a duplicate or unsolicited response is UnexpectedResponse") {
    Pair p;
    const auto init = initiation_from(p, p.a);
    const TunnResult resp = p.deliver_bytes(p.b, init);
    REQUIRE(resp.op == Op::WriteToNetwork);
    const auto response = p.produced(resp.size);
    REQUIRE(p.deliver_bytes(p.a, response).op == Op::WriteToNetwork);
    const TunnResult dup = p.deliver_bytes(p.a, response);
    CHECK(dup.op == Op::Drop);
    CHECK(dup.reason == DropReason::UnexpectedResponse);
    CHECK(p.drops(p.a, DropReason::UnexpectedResponse) == 1);
}

TEST_CASE("identity: a peer without identity refuses to handshake; a new identity drops the sessions") {
    Pair p;
    complete_handshake(p, p.a);
    p.a.peer->set_identity(nullptr);
    CHECK_FALSE(p.a.peer->has_session(p.clock.now));
    const TunnResult r = p.encapsulate(p.a, ipv4_packet(60));
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::NoIdentity);
    CHECK(p.drops(p.a, DropReason::NoIdentity) == 1);
}
