// Session rotation corner cases found in review: cookie replies to a
// response, a new local identity, and queued packets keeping their order.
#include <doctest/doctest.h>

#include "pair_harness.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

TEST_CASE("a cookie reply to our handshake response is accepted, and the next response carries mac2") {
    Pair p;
    const std::uint8_t src_b[] = {192, 0, 2, 2, 0xca, 0x6c};
    Env e = p.env();
    // a initiates; b answers; a is under load and replies to b's response with a cookie.
    TunnResult init = p.a.peer->force_handshake(p.buf, e);
    REQUIRE(init.op == Op::WriteToNetwork);
    TunnResult resp = p.deliver(p.b, init.size);
    REQUIRE(resp.size == spec::kResponseSize);
    p.relay(resp.size);
    TunnResult cookie = p.deliver(p.a, resp.size, /*under_load=*/true, src_b);
    REQUIRE(cookie.op == Op::WriteToNetwork);
    REQUIRE(cookie.size == spec::kCookieReplySize);
    p.relay(cookie.size);
    TunnResult took = p.deliver(p.b, cookie.size);
    CHECK(took.op == Op::Done);
    CHECK(p.drops(p.b, DropReason::UnexpectedResponse) == 0);
    CHECK(p.drops(p.b, DropReason::BadCookieReply) == 0);

    // a retries (its handshake is still in flight); b's new response now passes a's load check.
    p.clock.advance(spec::kRekeyTimeout);
    Env e2 = p.env();
    init = p.a.peer->force_handshake(p.buf, e2);
    resp = p.deliver(p.b, init.size);
    REQUIRE(resp.size == spec::kResponseSize);
    p.relay(resp.size);
    TunnResult done = p.deliver(p.a, resp.size, /*under_load=*/true, src_b);
    CHECK(done.op == Op::WriteToNetwork);  // the confirming keepalive: the session is up
    CHECK(p.a.peer->has_session(p.clock.now));
}

TEST_CASE("a new local identity drops the sessions and the next packet starts a handshake at once") {
    Pair p;
    complete_handshake(p, p.a);
    // The rate limit (one initiation per Rekey-Timeout) must not delay the new handshake.
    auto id2 = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(generate_private_key(p.rng)));
    p.a.peer->set_identity(id2);
    CHECK_FALSE(p.a.peer->has_session(p.clock.now));
    const TunnResult r = p.encapsulate(p.a, ipv4_packet(80));
    CHECK(r.op == Op::WriteToNetwork);
    CHECK(r.size == spec::kInitiationSize);
}

TEST_CASE("packets queued before the session go out first, in order, on writes and on ticks") {
    Pair p;
    // b has a packet for a but no session: it is queued (b's own initiation is lost).
    REQUIRE(p.encapsulate(p.b, ipv4_packet(60, 1)).size == spec::kInitiationSize);
    REQUIRE(p.b.peer->queued() == 1);
    // a initiates; b offers a session; a confirms it with a keepalive: b's next becomes current.
    Env e = p.env();
    const TunnResult init = p.a.peer->force_handshake(p.buf, e);
    const TunnResult resp = p.deliver(p.b, init.size);
    REQUIRE(resp.size == spec::kResponseSize);
    p.relay(resp.size);
    const TunnResult confirm = p.deliver(p.a, resp.size);
    REQUIRE(confirm.op == Op::WriteToNetwork);
    p.relay(confirm.size);
    REQUIRE(p.deliver(p.b, confirm.size).authenticated);
    REQUIRE(p.b.peer->has_session(p.clock.now));
    REQUIRE(p.b.peer->queued() == 1);  // nobody drained it yet (a C API caller got WriteToTunnel/Done)
    // A new write must not overtake the queued packet: the old one goes first...
    const TunnResult w = p.encapsulate(p.b, ipv4_packet(60, 2));
    REQUIRE(w.op == Op::WriteToNetwork);
    TunnResult in = p.deliver(p.a, w.size);
    REQUIRE(in.op == Op::WriteToTunnelV4);
    CHECK(p.buf2[30] == 1);
    // ...and the timer tick drains the rest.
    const TunnResult t = p.tick(p.b);
    REQUIRE(t.op == Op::WriteToNetwork);
    in = p.deliver(p.a, t.size);
    REQUIRE(in.op == Op::WriteToTunnelV4);
    CHECK(p.buf2[30] == 2);
    CHECK(p.b.peer->queued() == 0);
}
