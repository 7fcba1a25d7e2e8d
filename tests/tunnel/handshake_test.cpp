#include <doctest/doctest.h>

#include "pair_harness.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

TEST_CASE("two in-memory peers complete a handshake and exchange data") {
    for (bool psk : {false, true}) {
        CAPTURE(psk);
        Pair p(psk);
        auto pkt = ipv4_packet(100);
        Env e = p.env();
        // a has no session: the packet is queued and an initiation goes out.
        TunnResult r = p.a.peer->encapsulate(pkt, p.buf, e);
        REQUIRE(r.op == Op::WriteToNetwork);
        REQUIRE(r.size == spec::kInitiationSize);
        CHECK(p.a.peer->queued() == 1);

        TunnResult resp = p.deliver(p.b, r.size);
        REQUIRE(resp.op == Op::WriteToNetwork);
        REQUIRE(resp.size == spec::kResponseSize);
        std::memcpy(p.buf.data(), p.buf2.data(), resp.size);

        // a consumes the response and sends its queued packet (confirming the session).
        TunnResult first = p.deliver(p.a, resp.size);
        REQUIRE(first.op == Op::WriteToNetwork);
        CHECK(p.a.peer->stats().last_handshake.count() > 0);
        std::memcpy(p.buf.data(), p.buf2.data(), first.size);
        TunnResult in = p.deliver(p.b, first.size);
        REQUIRE(in.op == Op::WriteToTunnelV4);
        REQUIRE(in.size == pkt.size());
        CHECK(std::memcmp(p.buf2.data(), pkt.data(), pkt.size()) == 0);
        CHECK(p.b.peer->has_session(p.clock.now));

        // And back from b to a.
        auto back = ipv4_packet(1420, 0x11);
        Env e2 = p.env();
        TunnResult out = p.b.peer->encapsulate(back, p.buf, e2);
        REQUIRE(out.op == Op::WriteToNetwork);
        TunnResult got = p.deliver(p.a, out.size);
        REQUIRE(got.op == Op::WriteToTunnelV4);
        CHECK(got.size == back.size());
        CHECK(std::memcmp(p.buf2.data(), back.data(), back.size()) == 0);
    }
}
