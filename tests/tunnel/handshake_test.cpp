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

namespace {
const AeadBackend kBackends[] = {AeadBackend::Libsodium, AeadBackend::OpenSsl};

// Sends packet from -> to and checks it arrives intact as the given op.
void check_delivery(Pair& p, Side& from, const std::vector<std::uint8_t>& packet, Op expect) {
    const TunnResult in = send_packet(p, from, packet);
    REQUIRE(in.op == expect);
    REQUIRE(in.size == packet.size());
    CHECK(in.authenticated);
    CHECK(std::memcmp(p.buf2.data(), packet.data(), packet.size()) == 0);
}
}  // namespace

TEST_CASE("handshake and data with either side initiating, IPv4 and IPv6, both AEAD backends") {
    for (AeadBackend backend : kBackends) {
        for (bool a_initiates : {true, false}) {
            for (bool psk : {false, true}) {
                CAPTURE(to_string(backend));
                CAPTURE(a_initiates);
                CAPTURE(psk);
                Pair p(psk, backend);
                Side& init = a_initiates ? p.a : p.b;
                Side& resp = p.other(init);
                complete_handshake(p, init);
                CHECK(init.peer->stats().last_handshake == p.clock.wall);
                CHECK(resp.peer->stats().last_handshake == p.clock.wall);
                for (std::size_t n : {20u, 21u, 40u, 100u, 1420u, 1500u}) {
                    CAPTURE(n);
                    check_delivery(p, init, ipv4_packet(n), Op::WriteToTunnelV4);
                    check_delivery(p, resp, ipv4_packet(n, 0x5a), Op::WriteToTunnelV4);
                }
                for (std::size_t n : {40u, 41u, 57u, 1280u, 1500u}) {
                    CAPTURE(n);
                    check_delivery(p, init, ipv6_packet(n), Op::WriteToTunnelV6);
                    check_delivery(p, resp, ipv6_packet(n, 0x77), Op::WriteToTunnelV6);
                }
            }
        }
    }
}

TEST_CASE("a Libsodium peer and an OpenSSL peer interoperate") {
    Pair p;
    p.a.peer = std::make_unique<Peer>(p.a.id, p.b.id->public_key, p.psk, p.a.base, AeadBackend::Libsodium);
    p.b.peer = std::make_unique<Peer>(p.b.id, p.a.id->public_key, p.psk, p.b.base, AeadBackend::OpenSsl);
    complete_handshake(p, p.a);
    check_delivery(p, p.a, ipv4_packet(333), Op::WriteToTunnelV4);
    check_delivery(p, p.b, ipv6_packet(333), Op::WriteToTunnelV6);
}

TEST_CASE("padding: payloads are padded to 16 bytes and the inner length is restored") {
    Pair p;
    complete_handshake(p, p.a);
    for (std::size_t n : {20u, 31u, 32u, 33u, 47u, 48u}) {
        CAPTURE(n);
        const auto pkt = ipv4_packet(n);
        const TunnResult out = p.encapsulate(p.a, pkt);
        REQUIRE(out.op == Op::WriteToNetwork);
        CHECK(out.size == spec::kDataHeaderSize + (n + 15) / 16 * 16 + spec::kTagSize);
        const TunnResult in = p.deliver(p.b, out.size);
        REQUIRE(in.op == Op::WriteToTunnelV4);
        CHECK(in.size == n);
    }
    // With an MTU the padding stops at the MTU.
    p.a.peer->set_mtu(1410);
    const TunnResult under = p.encapsulate(p.a, ipv4_packet(1405));  // 1408 fits under the MTU
    REQUIRE(under.op == Op::WriteToNetwork);
    CHECK(under.size == spec::kDataHeaderSize + 1408 + spec::kTagSize);
    CHECK(p.deliver(p.b, under.size).size == 1405);
    const TunnResult capped = p.encapsulate(p.a, ipv4_packet(1409));
    REQUIRE(capped.op == Op::WriteToNetwork);
    CHECK(capped.size == spec::kDataHeaderSize + 1410 + spec::kTagSize);
    CHECK(p.deliver(p.b, capped.size).size == 1409);
}

TEST_CASE("the largest packet (65535 bytes) goes through; one byte more is TooLarge") {
    Pair p;
    complete_handshake(p, p.a);
    check_delivery(p, p.a, ipv4_packet(limits::kMaxPacketSize), Op::WriteToTunnelV4);
    std::vector<std::uint8_t> big(limits::kMaxPacketSize + 1, 0);
    const TunnResult r = p.encapsulate(p.a, big);
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::TooLarge);
    CHECK(p.drops(p.a, DropReason::TooLarge) == 1);
}

TEST_CASE("each side initiating in turn: rekeying keeps traffic flowing and old-session packets still count") {
    for (AeadBackend backend : kBackends) {
        CAPTURE(to_string(backend));
        Pair p(true, backend);
        complete_handshake(p, p.a);
        check_delivery(p, p.a, ipv4_packet(64), Op::WriteToTunnelV4);

        // A packet sealed by b on the first session, delivered after the rekey.
        const TunnResult late = p.encapsulate(p.b, ipv4_packet(80, 0x01));
        REQUIRE(late.op == Op::WriteToNetwork);
        const auto late_bytes = p.sent(late.size);

        for (int round = 0; round < 6; ++round) {
            CAPTURE(round);
            p.clock.advance(10s);
            Side& init = round % 2 == 0 ? p.b : p.a;
            complete_handshake(p, init);
            check_delivery(p, p.a, ipv4_packet(100 + round), Op::WriteToTunnelV4);
            check_delivery(p, p.b, ipv6_packet(100 + round), Op::WriteToTunnelV6);
            if (round == 0) {
                // a keeps the previous session for packets in flight.
                const TunnResult r = p.deliver_bytes(p.a, late_bytes);
                CHECK(r.op == Op::WriteToTunnelV4);
                CHECK(r.size == 80);
            }
        }
        // Two rekeys later the first session is gone.
        const TunnResult r = p.deliver_bytes(p.a, late_bytes);
        CHECK(r.op == Op::Drop);
        CHECK(r.reason == DropReason::UnknownIndex);
    }
}

TEST_CASE("drain loop: packets queued behind a handshake go out in order after it completes") {
    Pair p;
    std::vector<std::vector<std::uint8_t>> pkts;
    for (int i = 0; i < 5; ++i) pkts.push_back(ipv4_packet(60 + i, std::uint8_t(i)));
    TunnResult first = p.encapsulate(p.a, pkts[0]);
    REQUIRE(first.op == Op::WriteToNetwork);
    REQUIRE(first.size == spec::kInitiationSize);
    const auto init = p.sent(first.size);
    for (int i = 1; i < 5; ++i) {
        // One initiation per Rekey-Timeout: the rest only queue.
        const TunnResult r = p.encapsulate(p.a, pkts[i]);
        CHECK(r.op == Op::Done);
    }
    CHECK(p.a.peer->queued() == 5);

    const TunnResult resp = p.deliver_bytes(p.b, init);
    REQUIRE(resp.op == Op::WriteToNetwork);
    p.relay(resp.size);
    TunnResult r = p.deliver(p.a, resp.size);
    std::vector<std::vector<std::uint8_t>> wire;
    while (r.op == Op::WriteToNetwork) {
        wire.push_back(p.produced(r.size));
        Env e = p.env();
        r = p.a.peer->flush_queued(p.buf2, e);
    }
    CHECK(r.op == Op::Done);
    CHECK(p.a.peer->queued() == 0);
    REQUIRE(wire.size() == 5);
    for (std::size_t i = 0; i < wire.size(); ++i) {
        CAPTURE(i);
        const TunnResult in = p.deliver_bytes(p.b, wire[i]);
        REQUIRE(in.op == Op::WriteToTunnelV4);
        REQUIRE(in.size == pkts[i].size());
        CHECK(std::memcmp(p.buf2.data(), pkts[i].data(), pkts[i].size()) == 0);
    }
}

TEST_CASE("queue behind a handshake holds kMaxQueuedPackets; older packets are pushed out and counted") {
    Pair p;
    const std::size_t extra = 6;
    std::vector<std::uint8_t> init;
    for (std::size_t i = 0; i < limits::kMaxQueuedPackets + extra; ++i) {
        auto pkt = ipv4_packet(40);
        pkt[10] = std::uint8_t(i);
        const TunnResult r = p.encapsulate(p.a, pkt);
        if (i == 0) {
            REQUIRE(r.op == Op::WriteToNetwork);
            init = p.sent(r.size);
        }
    }
    CHECK(p.a.peer->queued() == limits::kMaxQueuedPackets);
    CHECK(p.drops(p.a, DropReason::QueueFull) == extra);

    // The survivors are the newest ones, in order.
    const TunnResult resp = p.deliver_bytes(p.b, init);
    REQUIRE(resp.op == Op::WriteToNetwork);
    p.relay(resp.size);
    TunnResult r = p.deliver(p.a, resp.size);
    std::vector<std::uint8_t> marks;
    while (r.op == Op::WriteToNetwork) {
        p.relay(r.size);
        const TunnResult in = p.deliver(p.b, r.size);
        REQUIRE(in.op == Op::WriteToTunnelV4);
        marks.push_back(p.buf2[10]);
        Env e = p.env();
        r = p.a.peer->flush_queued(p.buf2, e);
    }
    REQUIRE(marks.size() == limits::kMaxQueuedPackets);
    for (std::size_t i = 0; i < marks.size(); ++i) CHECK(marks[i] == std::uint8_t(extra + i));
}

TEST_CASE("statistics count datagram bytes both ways") {
    Pair p;
    complete_handshake(p, p.a);
    const auto& sa = p.a.peer->stats();
    const auto& sb = p.b.peer->stats();
    CHECK(sa.tx_bytes == spec::kInitiationSize + spec::kDataMinSize);
    CHECK(sa.rx_bytes == spec::kResponseSize);
    CHECK(sb.rx_bytes == spec::kInitiationSize + spec::kDataMinSize);
    CHECK(sb.tx_bytes == spec::kResponseSize);
    const TunnResult out = p.encapsulate(p.a, ipv4_packet(100));
    REQUIRE(out.op == Op::WriteToNetwork);
    REQUIRE(p.deliver(p.b, out.size).op == Op::WriteToTunnelV4);
    CHECK(sa.tx_bytes == spec::kInitiationSize + spec::kDataMinSize + out.size);
    CHECK(sb.rx_bytes == spec::kInitiationSize + spec::kDataMinSize + out.size);
    for (auto d : sa.drops) CHECK(d == 0);
    for (auto d : sb.drops) CHECK(d == 0);
}
