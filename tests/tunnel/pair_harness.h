// Two in-memory peers that talk to each other through their Responders,
// with a fake clock and a seeded RNG: the test double of two devices.
#pragma once

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#include "dispatch.h"
#include "keys.h"

namespace ztna::tunnel::testing {

struct FakeClock {
    Duration now{std::chrono::seconds(1000)};
    std::chrono::nanoseconds wall{std::chrono::seconds(1'700'000'000)};
    void advance(Duration d) {
        now += d;
        wall += d;
    }
};

// One side: an identity, its responder, and one peer (the other side).
struct Side final : PeerLookup {
    std::shared_ptr<const StaticIdentity> id;
    std::unique_ptr<Responder> responder;
    std::unique_ptr<Peer> peer;

    Peer* by_public_key(const PublicKey& k) override {
        return peer && std::memcmp(k.data(), peer->remote_public().data(), 32) == 0 ? peer.get() : nullptr;
    }
    Peer* by_index(std::uint32_t idx) override { return peer && Peer::index_base_of(idx) == base ? peer.get() : nullptr; }
    std::uint32_t base = 0;
};

// A simple valid IPv4 packet of n bytes (n >= 20).
inline std::vector<std::uint8_t> ipv4_packet(std::size_t n, std::uint8_t fill = 0xab) {
    std::vector<std::uint8_t> p(n, fill);
    p[0] = 0x45;
    p[1] = 0;
    p[2] = std::uint8_t(n >> 8);
    p[3] = std::uint8_t(n);
    return p;
}

// A simple valid IPv6 packet of n bytes (n >= 40): payload length n - 40.
inline std::vector<std::uint8_t> ipv6_packet(std::size_t n, std::uint8_t fill = 0xcd) {
    std::vector<std::uint8_t> p(n, fill);
    p[0] = 0x60;
    p[1] = p[2] = p[3] = 0;
    p[4] = std::uint8_t((n - 40) >> 8);
    p[5] = std::uint8_t(n - 40);
    return p;
}

struct Pair {
    FakeClock clock;
    SeededRng rng{42};
    Side a, b;
    Key psk;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(70000);
    std::vector<std::uint8_t> buf2 = std::vector<std::uint8_t>(70000);

    explicit Pair(bool with_psk = false, AeadBackend backend = kDefaultAeadBackend) {
        if (with_psk) rng.fill(psk.span());
        a.id = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(generate_private_key(rng)));
        b.id = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(generate_private_key(rng)));
        a.responder = std::make_unique<Responder>(a.id);
        b.responder = std::make_unique<Responder>(b.id);
        a.base = 1;
        b.base = 2;
        a.peer = std::make_unique<Peer>(a.id, b.id->public_key, psk, a.base, backend);
        b.peer = std::make_unique<Peer>(b.id, a.id->public_key, psk, b.base, backend);
    }

    Env env(bool under_load = false) { return Env{clock.now, clock.wall, rng, under_load}; }

    // Delivers the datagram in buf[0..n) to `to`; returns what `to` produced (in buf2).
    TunnResult deliver(Side& to, std::size_t n, bool under_load = false, std::span<const std::uint8_t> src = {}) {
        Env e = env(under_load);
        return receive_datagram(*to.responder, to, {buf.data(), n}, src, buf2, e).result;
    }

    // Delivers a copy of bytes to `to` (through buf).
    TunnResult deliver_bytes(Side& to, std::span<const std::uint8_t> bytes, bool under_load = false,
                             std::span<const std::uint8_t> src = {}) {
        std::memcpy(buf.data(), bytes.data(), bytes.size());
        return deliver(to, bytes.size(), under_load, src);
    }

    // Moves what the receiver produced (buf2[0..n)) into buf, ready to deliver onwards.
    void relay(std::size_t n) { std::memcpy(buf.data(), buf2.data(), n); }
    // The bytes last produced into buf (by a sender) or buf2 (by a receiver), as a copy.
    std::vector<std::uint8_t> sent(std::size_t n) const { return {buf.begin(), buf.begin() + std::ptrdiff_t(n)}; }
    std::vector<std::uint8_t> produced(std::size_t n) const { return {buf2.begin(), buf2.begin() + std::ptrdiff_t(n)}; }

    Side& other(Side& s) { return &s == &a ? b : a; }

    // from seals packet into buf; returns the result (the datagram is buf[0..size)).
    TunnResult encapsulate(Side& from, std::span<const std::uint8_t> packet) {
        Env e = env();
        return from.peer->encapsulate(packet, buf, e);
    }
    TunnResult tick(Side& s) {
        Env e = env();
        return s.peer->update_timers(buf, e);
    }
    TunnResult flush(Side& s) {
        Env e = env();
        return s.peer->flush_queued(buf, e);
    }
    std::uint64_t drops(const Side& s, DropReason r) const { return s.peer->stats().drops[std::size_t(r)]; }
    std::uint64_t responder_drops(const Side& s, DropReason r) const { return s.responder->drops()[std::size_t(r)]; }
};

#ifndef DOCTEST_CONFIG_DISABLE  // these assert; benchmarks and fuzz targets build without doctest
// A whole handshake started by `from` (initiation, response, and the
// initiator's keepalive that confirms the session to the responder). Leaves
// both sides with a usable current session created at the clock's now.
inline void complete_handshake(Pair& p, Side& from) {
    Side& to = p.other(from);
    Env e = p.env();
    const TunnResult init = from.peer->force_handshake(p.buf, e);
    REQUIRE(init.op == Op::WriteToNetwork);
    REQUIRE(init.size == spec::kInitiationSize);
    const TunnResult resp = p.deliver(to, init.size);
    REQUIRE(resp.op == Op::WriteToNetwork);
    REQUIRE(resp.size == spec::kResponseSize);
    p.relay(resp.size);
    const TunnResult confirm = p.deliver(from, resp.size);
    REQUIRE(confirm.op == Op::WriteToNetwork);
    REQUIRE(confirm.size == spec::kDataMinSize);  // nothing queued: a keepalive
    p.relay(confirm.size);
    const TunnResult ka = p.deliver(to, confirm.size);
    REQUIRE(ka.op == Op::Done);
    REQUIRE(ka.authenticated);
    REQUIRE(from.peer->has_session(p.clock.now));
    REQUIRE(to.peer->has_session(p.clock.now));
}

// from encapsulates packet and to receives it; returns to's result (payload in p.buf2).
inline TunnResult send_packet(Pair& p, Side& from, std::span<const std::uint8_t> packet) {
    const TunnResult out = p.encapsulate(from, packet);
    REQUIRE(out.op == Op::WriteToNetwork);
    return p.deliver(p.other(from), out.size);
}

#endif

}  // namespace ztna::tunnel::testing
