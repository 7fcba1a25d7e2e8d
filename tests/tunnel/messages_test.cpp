// Every malformed, short, oversized, truncated or tampered datagram is
// rejected and counted, and never crashes (parse() and the receive path).
#include <doctest/doctest.h>

#include <array>

#include "pair_harness.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {
std::uint64_t total(const std::array<std::uint64_t, kDropReasonCount>& drops) {
    std::uint64_t n = 0;
    for (auto d : drops) n += d;
    return n;
}

// Real messages of every type, captured from a handshake between p.a and p.b:
// an initiation and a response (for b and a), a cookie reply (for a) and a data message (for b).
struct Captured {
    std::vector<std::uint8_t> initiation, response, cookie, data;
};

Captured capture(Pair& p) {
    Captured c;
    // An initiation (with a packet queued behind it); under load b answers a
    // cookie reply to it, and without load a response.
    TunnResult r = p.encapsulate(p.a, ipv4_packet(60));
    REQUIRE(r.op == Op::WriteToNetwork);
    c.initiation = p.sent(r.size);
    const std::array<std::uint8_t, 4> src{10, 0, 0, 1};
    r = p.deliver_bytes(p.b, c.initiation, true, src);
    REQUIRE(r.reason == DropReason::CookieSent);
    c.cookie = p.produced(r.size);
    r = p.deliver_bytes(p.b, c.initiation);
    REQUIRE(r.op == Op::WriteToNetwork);
    c.response = p.produced(r.size);
    return c;
}

// Completes the handshake of capture() and captures one data message a -> b.
void finish(Pair& p, Captured& c) {
    TunnResult r = p.deliver_bytes(p.a, c.response);
    REQUIRE(r.op == Op::WriteToNetwork);
    p.relay(r.size);
    REQUIRE(p.deliver(p.b, r.size).op == Op::WriteToTunnelV4);
    r = p.encapsulate(p.a, ipv4_packet(100));
    REQUIRE(r.op == Op::WriteToNetwork);
    c.data = p.sent(r.size);
}
}  // namespace

TEST_CASE("parse: each message type at its exact length, and not at any other") {
    struct Kind {
        std::uint8_t type;
        std::size_t size;
    };
    for (Kind k : {Kind{1, spec::kInitiationSize}, Kind{2, spec::kResponseSize}, Kind{3, spec::kCookieReplySize}}) {
        CAPTURE(int(k.type));
        std::vector<std::uint8_t> d(k.size + 64, 0);
        d[0] = k.type;
        for (std::size_t n = 0; n <= d.size(); ++n) {
            CAPTURE(n);
            const Message m = parse({d.data(), n});
            if (n == k.size) {
                CHECK(m.index() == std::size_t(k.type - 1));
            } else {
                REQUIRE(std::holds_alternative<ParseError>(m));
                CHECK(std::get<ParseError>(m) == (n < 4 ? ParseError::Empty : ParseError::BadLength));
            }
        }
    }
    std::vector<std::uint8_t> d(200, 0);
    d[0] = spec::kTypeData;
    for (std::size_t n = 0; n <= d.size(); ++n) {
        CAPTURE(n);
        const Message m = parse({d.data(), n});
        CHECK(std::holds_alternative<DataMsg>(m) == (n >= spec::kDataMinSize));
    }
}

TEST_CASE("parse: unknown types, nonzero reserved bytes, oversized datagrams") {
    std::vector<std::uint8_t> d(spec::kInitiationSize, 0);
    for (int t = 0; t < 256; ++t) {
        if (t >= 1 && t <= 4) continue;
        d[0] = std::uint8_t(t);
        const Message m = parse(d);
        REQUIRE(std::holds_alternative<ParseError>(m));
        CHECK(std::get<ParseError>(m) == ParseError::UnknownType);
    }
    for (std::uint8_t t : {1, 2, 3, 4}) {
        std::vector<std::uint8_t> msg(t == 1 ? 148 : t == 2 ? 92 : t == 3 ? 64 : 32, 0);
        msg[0] = t;
        REQUIRE_FALSE(std::holds_alternative<ParseError>(parse(msg)));
        for (int i = 1; i <= 3; ++i) {
            for (std::uint8_t v : {0x01, 0x80, 0xff}) {
                auto bad = msg;
                bad[std::size_t(i)] = v;
                const Message m = parse(bad);
                REQUIRE(std::holds_alternative<ParseError>(m));
                CHECK(std::get<ParseError>(m) == ParseError::ReservedNonZero);
            }
        }
    }
    std::vector<std::uint8_t> big(limits::kMaxDatagramSize + 1, 0);
    big[0] = spec::kTypeData;
    CHECK(std::holds_alternative<ParseError>(parse(big)));
    CHECK(std::holds_alternative<DataMsg>(parse({big.data(), limits::kMaxDatagramSize})));
}

TEST_CASE("parse: receiver_index reads the right field of each type") {
    std::vector<std::uint8_t> d(spec::kInitiationSize, 0);
    d[0] = 1;
    store_le32(d.data() + 4, 0x11223344);
    CHECK(receiver_index(parse(d)) == 0);
    d.resize(spec::kResponseSize);
    d[0] = 2;
    store_le32(d.data() + 8, 0x55667788);
    CHECK(receiver_index(parse(d)) == 0x55667788);
    d.resize(spec::kCookieReplySize);
    d[0] = 3;
    store_le32(d.data() + 4, 0x01020304);
    CHECK(receiver_index(parse(d)) == 0x01020304);
    d.resize(spec::kDataMinSize);
    d[0] = 4;
    store_le32(d.data() + 4, 0xa0b0c0d0);
    store_le64(d.data() + 8, 0x0102030405060708ull);
    const Message m = parse(d);
    CHECK(receiver_index(m) == 0xa0b0c0d0);
    CHECK(std::get<DataMsg>(m).counter() == 0x0102030405060708ull);
    CHECK(receiver_index(ParseError::Empty) == 0);
}

TEST_CASE("receive path: every message type truncated at every length is Malformed and counted") {
    Pair p;
    Captured c = capture(p);
    finish(p, c);
    struct Case {
        const char* name;
        const std::vector<std::uint8_t>* msg;
        Side* to;
    };
    for (Case k : {Case{"initiation", &c.initiation, &p.b}, Case{"response", &c.response, &p.a},
                   Case{"cookie", &c.cookie, &p.a}, Case{"data", &c.data, &p.b}}) {
        CAPTURE(k.name);
        const auto before_r = total(k.to->responder->drops());
        const auto before_p = total(k.to->peer->stats().drops);
        const std::size_t shortest_valid = k.msg == &c.data ? spec::kDataMinSize : k.msg->size();
        std::size_t sent = 0;
        for (std::size_t n = 0; n < shortest_valid; ++n) {
            CAPTURE(n);
            const TunnResult r = p.deliver_bytes(*k.to, {k.msg->data(), n});
            CHECK(r.op == Op::Drop);
            CHECK(r.reason == DropReason::Malformed);
            ++sent;
        }
        // One byte too many for the fixed-size messages.
        if (k.msg != &c.data) {
            auto longer = *k.msg;
            longer.push_back(0);
            CHECK(p.deliver_bytes(*k.to, longer).reason == DropReason::Malformed);
            ++sent;
        }
        CHECK(k.to->responder->drops()[std::size_t(DropReason::Malformed)] >= sent);
        CHECK(total(k.to->responder->drops()) - before_r == sent);
        CHECK(total(k.to->peer->stats().drops) == before_p);
    }
    // Truncated data messages past the minimum are not Malformed but fail to decrypt.
    for (std::size_t n = spec::kDataMinSize; n < c.data.size(); ++n) {
        CAPTURE(n);
        const TunnResult r = p.deliver_bytes(p.b, {c.data.data(), n});
        CHECK(r.op == Op::Drop);
        CHECK(r.reason == DropReason::DecryptFailed);
    }
    // None of that disturbed the session: the genuine data message goes through.
    const TunnResult ok = p.deliver_bytes(p.b, c.data);
    CHECK(ok.op == Op::WriteToTunnelV4);
    CHECK(ok.size == 100);
}

TEST_CASE("receive path: wrong type bytes, nonzero reserved bytes and oversized datagrams are Malformed") {
    Pair p;
    Captured c = capture(p);
    finish(p, c);
    std::uint64_t sent = 0;
    for (const auto* msg : {&c.initiation, &c.response, &c.cookie, &c.data}) {
        for (int t = 0; t < 256; ++t) {
            if (t >= 1 && t <= 4) continue;
            auto bad = *msg;
            bad[0] = std::uint8_t(t);
            CHECK(p.deliver_bytes(p.b, bad).reason == DropReason::Malformed);
            ++sent;
        }
        for (std::size_t i = 1; i <= 3; ++i) {
            auto bad = *msg;
            bad[i] = 0x01;
            CHECK(p.deliver_bytes(p.b, bad).reason == DropReason::Malformed);
            ++sent;
        }
        // A valid type byte of the wrong kind for the length.
        for (std::uint8_t t : {1, 2, 3}) {
            if (t == (*msg)[0]) continue;
            auto bad = *msg;
            bad[0] = t;
            CHECK(p.deliver_bytes(p.b, bad).reason == DropReason::Malformed);
            ++sent;
        }
    }
    std::vector<std::uint8_t> huge(limits::kMaxDatagramSize + 1, 0);
    huge[0] = spec::kTypeData;
    CHECK(p.deliver_bytes(p.b, huge).reason == DropReason::Malformed);
    ++sent;
    CHECK(p.responder_drops(p.b, DropReason::Malformed) == sent);
    CHECK(total(p.b.peer->stats().drops) == 0);
}

TEST_CASE("receive path: a data message tampered at any offset is refused and counted") {
    for (std::uint8_t flip : {0x01, 0x80}) {
        CAPTURE(int(flip));
        Pair p;
        Captured c = capture(p);
        finish(p, c);
        std::uint64_t decrypt_failed = 0, unknown_index = 0, malformed = 0, replayed = 0;
        for (std::size_t off = 0; off < c.data.size(); ++off) {
            CAPTURE(off);
            auto bad = c.data;
            bad[off] ^= flip;
            const TunnResult r = p.deliver_bytes(p.b, bad);
            REQUIRE(r.op == Op::Drop);
            if (off < 4) {
                CHECK(r.reason == DropReason::Malformed);
                ++malformed;
            } else if (off < 8) {
                CHECK(r.reason == DropReason::UnknownIndex);  // another session or another peer
                ++unknown_index;
            } else if (off < 16 && load_le64(bad.data() + layout::data::kCounter) == 0) {
                CHECK(r.reason == DropReason::Replayed);  // counter 0 was the packet that confirmed the session
                ++replayed;
            } else {
                CHECK(r.reason == DropReason::DecryptFailed);  // counter (the nonce), ciphertext or tag
                ++decrypt_failed;
            }
        }
        CHECK(decrypt_failed >= (c.data.size() - 16));
        CHECK(p.drops(p.b, DropReason::DecryptFailed) == decrypt_failed);
        CHECK(p.drops(p.b, DropReason::UnknownIndex) + p.responder_drops(p.b, DropReason::UnknownIndex) ==
              unknown_index);
        CHECK(p.responder_drops(p.b, DropReason::Malformed) == malformed);
        CHECK(p.drops(p.b, DropReason::Replayed) == replayed);
        CHECK(p.deliver_bytes(p.b, c.data).op == Op::WriteToTunnelV4);
        // A replay of the genuine one is refused.
        const TunnResult again = p.deliver_bytes(p.b, c.data);
        CHECK(again.reason == DropReason::Replayed);
        CHECK(p.drops(p.b, DropReason::Replayed) == replayed + 1);
    }
}

TEST_CASE("receive path: a counter at or over Reject-After-Messages is Replayed before any decryption") {
    Pair p;
    Captured c = capture(p);
    finish(p, c);
    for (std::uint64_t counter : std::initializer_list<std::uint64_t>{spec::kRejectAfterMessages, spec::kRejectAfterMessages + 1, ~std::uint64_t(0)}) {
        auto bad = c.data;
        store_le64(bad.data() + layout::data::kCounter, counter);
        CHECK(p.deliver_bytes(p.b, bad).reason == DropReason::Replayed);
    }
    CHECK(p.drops(p.b, DropReason::DecryptFailed) == 0);
}

TEST_CASE("receive path: handshake messages tampered at any offset are refused and counted") {
    Pair p;
    Captured c = capture(p);
    // Initiation: type/reserved -> Malformed, anything else up to mac2 -> BadMac1.
    for (std::size_t off = 0; off < layout::init::kMac2; ++off) {
        CAPTURE(off);
        auto bad = c.initiation;
        bad[off] ^= 0x04;
        const TunnResult r = p.deliver_bytes(p.b, bad);
        REQUIRE(r.op == Op::Drop);
        CHECK(r.reason == (off < 4 ? DropReason::Malformed : DropReason::BadMac1));
    }
    CHECK(p.responder_drops(p.b, DropReason::BadMac1) == layout::init::kMac2 - 4);
    // Response: the same up to its mac2.
    for (std::size_t off = 0; off < layout::resp::kMac2; ++off) {
        CAPTURE(off);
        auto bad = c.response;
        bad[off] ^= 0x04;
        const TunnResult r = p.deliver_bytes(p.a, bad);
        REQUIRE(r.op == Op::Drop);
        CHECK(r.reason == (off < 4 ? DropReason::Malformed : DropReason::BadMac1));
    }
    // A response with a recomputed mac1 but tampered ephemeral or encrypted nothing -> BadHandshake.
    CookieGenerator to_a(p.a.id->public_key);
    for (std::size_t off = layout::resp::kEphemeral; off < layout::resp::kMac1; ++off) {
        CAPTURE(off);
        auto bad = c.response;
        bad[off] ^= 0x04;
        to_a.add_macs(bad, p.clock.now);
        const TunnResult r = p.deliver_bytes(p.a, bad);
        REQUIRE(r.op == Op::Drop);
        CHECK(r.reason == DropReason::BadHandshake);
    }
    CHECK(p.drops(p.a, DropReason::BadHandshake) == layout::resp::kMac1 - layout::resp::kEphemeral);
    // An initiation with a recomputed mac1 but tampered contents -> BadHandshake at the responder.
    CookieGenerator to_b(p.b.id->public_key);
    for (std::size_t off = layout::init::kEphemeral; off < layout::init::kMac1; ++off) {
        CAPTURE(off);
        auto bad = c.initiation;
        bad[off] ^= 0x04;
        to_b.add_macs(bad, p.clock.now);
        const TunnResult r = p.deliver_bytes(p.b, bad);
        REQUIRE(r.op == Op::Drop);
        CHECK(r.reason == DropReason::BadHandshake);
    }
    // Cookie reply: header -> Malformed; receiver index -> not the handshake; body -> BadCookieReply.
    for (std::size_t off = 0; off < spec::kCookieReplySize; ++off) {
        CAPTURE(off);
        auto bad = c.cookie;
        bad[off] ^= 0x04;
        const TunnResult r = p.deliver_bytes(p.a, bad);
        REQUIRE(r.op == Op::Drop);
        if (off < 4)
            CHECK(r.reason == DropReason::Malformed);
        else if (off < 8)
            CHECK((r.reason == DropReason::UnknownIndex || r.reason == DropReason::UnexpectedResponse));
        else
            CHECK(r.reason == DropReason::BadCookieReply);
    }
    // After all that the genuine response still completes the handshake.
    const TunnResult ok = p.deliver_bytes(p.a, c.response);
    CHECK(ok.op == Op::WriteToNetwork);
    CHECK(p.a.peer->has_session(p.clock.now));
}

TEST_CASE("receive path: garbage inner packets are BadInnerPacket") {
    Pair p;
    complete_handshake(p, p.a);
    auto v4 = [](std::size_t n, std::uint8_t b0, std::size_t total_len) {
        std::vector<std::uint8_t> x(n, 0);
        x[0] = b0;
        x[2] = std::uint8_t(total_len >> 8);
        x[3] = std::uint8_t(total_len);
        return x;
    };
    auto v6 = [](std::size_t n, std::size_t payload) {
        std::vector<std::uint8_t> x(n, 0);
        x[0] = 0x60;
        x[4] = std::uint8_t(payload >> 8);
        x[5] = std::uint8_t(payload);
        return x;
    };
    const std::vector<std::vector<std::uint8_t>> garbage = {
        std::vector<std::uint8_t>(40, 0x00),  // version 0
        std::vector<std::uint8_t>(40, 0xff),  // version 15
        std::vector<std::uint8_t>(1, 0x45),   // one byte
        v4(60, 0x45, 65),                     // IPv4 total length past the (padded) payload
        v4(64, 0x45, 1000),
        v4(40, 0x45, 19),                     // total length under the header
        v4(40, 0x44, 40),                     // IHL 4 (16 bytes)
        v4(40, 0x4f, 40),                     // IHL 60 > total length
        v4(16, 0x45, 16),                     // shorter than an IPv4 header even when padded
        v6(40, 1),                            // see below: fits inside the padding
        v6(48, 100),
        v6(30, 0),                            // shorter than an IPv6 header (padded to 32)
    };
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < garbage.size(); ++i) {
        CAPTURE(i);
        const TunnResult r = send_packet(p, p.a, garbage[i]);
        if (i == 9) {
            // 40 bytes pad to 48: payload length 1 fits inside the padding, so it is a whole packet.
            CHECK(r.op == Op::WriteToTunnelV6);
            CHECK(r.size == 41);
            continue;
        }
        CHECK(r.op == Op::Drop);
        CHECK(r.reason == DropReason::BadInnerPacket);
        ++expected;
    }
    CHECK(p.drops(p.b, DropReason::BadInnerPacket) == expected);
    // A keepalive (empty) is not a bad packet.
    const TunnResult ka = send_packet(p, p.a, {});
    CHECK(ka.op == Op::Done);
    CHECK(ka.authenticated);
    // And a real packet still goes through.
    CHECK(send_packet(p, p.a, ipv4_packet(60)).op == Op::WriteToTunnelV4);
}

TEST_CASE("receive path: small output buffers are refused, not overrun") {
    Pair p;
    complete_handshake(p, p.a);
    // Encapsulate into a buffer one byte short.
    const auto pkt = ipv4_packet(100);
    std::vector<std::uint8_t> small(spec::kDataHeaderSize + 112 + spec::kTagSize - 1);
    Env e = p.env();
    TunnResult r = p.a.peer->encapsulate(pkt, small, e);
    CHECK(r.op == Op::Drop);
    CHECK(r.reason == DropReason::BufferTooSmall);
    // Decapsulate into a buffer one byte short of the padded payload.
    r = p.encapsulate(p.a, pkt);
    REQUIRE(r.op == Op::WriteToNetwork);
    const auto msg = p.sent(r.size);
    std::vector<std::uint8_t> out(111);
    Received got = receive_datagram(*p.b.responder, p.b, msg, {}, out, e);
    CHECK(got.result.reason == DropReason::BufferTooSmall);
    CHECK(p.drops(p.b, DropReason::BufferTooSmall) == 1);
    // With room it decrypts (the failed attempt did not burn the counter).
    CHECK(p.deliver_bytes(p.b, msg).op == Op::WriteToTunnelV4);
}

TEST_CASE("receive path: random datagrams of every type never crash and are all dropped and counted") {
    Pair p;
    complete_handshake(p, p.a);
    SeededRng noise(7);
    std::uint64_t n = 0;
    for (int i = 0; i < 20000; ++i) {
        std::uint8_t hdr[4];
        noise.fill(hdr);
        const std::uint8_t type = std::uint8_t(1 + hdr[0] % 4);
        std::size_t len;
        switch (type) {
            case 1: len = hdr[1] % 4 ? spec::kInitiationSize : hdr[2]; break;
            case 2: len = hdr[1] % 4 ? spec::kResponseSize : hdr[2]; break;
            case 3: len = hdr[1] % 4 ? spec::kCookieReplySize : hdr[2]; break;
            default: len = std::size_t(hdr[2]) + hdr[3]; break;
        }
        std::vector<std::uint8_t> d(len);
        if (len) noise.fill(d);
        if (len) d[0] = type;
        if (len >= 4 && hdr[1] % 8) d[1] = d[2] = d[3] = 0;
        // Sometimes aim at a live index of b.
        if (len >= 8 && (type == 4 || type == 3) && hdr[3] % 2) store_le32(d.data() + 4, (p.b.base << 8) | 1);
        if (len >= 12 && type == 2 && hdr[3] % 2) store_le32(d.data() + 8, (p.b.base << 8) | 1);
        const TunnResult r = p.deliver_bytes(p.b, d, hdr[3] % 3 == 0);
        ++n;
        REQUIRE((r.op == Op::Drop || r.reason == DropReason::CookieSent));
    }
    CHECK(total(p.b.responder->drops()) + total(p.b.peer->stats().drops) == n);
    // b is still fine.
    CHECK(send_packet(p, p.a, ipv4_packet(60)).op == Op::WriteToTunnelV4);
}
