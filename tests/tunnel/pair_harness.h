// Two in-memory peers that talk to each other through their Responders,
// with a fake clock and a seeded RNG: the test double of two devices.
#pragma once

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

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
};

}  // namespace ztna::tunnel::testing
