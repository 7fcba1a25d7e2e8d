// drop_bench: what a hostile datagram costs before it is dropped. Each kind
// of bad input goes through the same receive path as a device's
// (receive_datagram) against an established pair, and the time per datagram
// is printed beside the cost of a valid 1420-byte data packet.
//   drop_bench [--quick] [--markdown]
#define DOCTEST_CONFIG_DISABLE
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../tests/tunnel/pair_harness.h"
#include "crypto.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {

struct Row {
    const char* what;
    DropReason expect;
    double ns = 0;
};

// Nanoseconds per call of f, over at least `seconds`; fails if f returns false.
double time_ns(double seconds, const std::function<bool()>& f) {
    using C = std::chrono::steady_clock;
    std::uint64_t n = 0;
    const auto t0 = C::now();
    double elapsed = 0;
    while (elapsed < seconds) {
        for (int i = 0; i < 256; ++i)
            if (!f()) {
                std::fprintf(stderr, "drop_bench: a datagram was not dropped as expected\n");
                std::exit(1);
            }
        n += 256;
        elapsed = std::chrono::duration<double>(C::now() - t0).count();
    }
    return elapsed * 1e9 / double(n);
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false, md = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--markdown") md = true;
        else {
            std::fprintf(stderr, "usage: drop_bench [--quick] [--markdown]\n");
            return 64;
        }
    }
    if (!crypto::init()) return 1;
    const double secs = quick ? 0.02 : 0.5;

    // An established pair: a initiates, b answers, a's first packet confirms.
    Pair p;
    auto pkt = ipv4_packet(1420);
    Env e = p.env();
    const TunnResult init = p.a.peer->encapsulate(pkt, p.buf, e);
    const std::vector<std::uint8_t> initiation(p.buf.begin(), p.buf.begin() + long(init.size));
    const TunnResult resp = p.deliver(p.b, init.size);
    p.relay(resp.size);
    const TunnResult first = p.deliver(p.a, resp.size);
    const std::vector<std::uint8_t> data(p.buf2.begin(), p.buf2.begin() + long(first.size));
    p.relay(first.size);
    if (p.deliver(p.b, first.size).op != Op::WriteToTunnelV4) {
        std::fprintf(stderr, "drop_bench: handshake failed\n");
        return 1;
    }

    SeededRng noise(7);
    std::vector<std::uint8_t> garbage(1452);
    noise.fill(garbage);
    garbage[0] = 9;  // unknown type
    std::vector<std::uint8_t> bad_mac1 = initiation;
    bad_mac1[120] ^= 1;  // inside mac1
    // A fresh counter (never delivered), so the replay window lets it reach the AEAD.
    Env e2 = p.env();
    const TunnResult fresh = p.a.peer->encapsulate(pkt, p.buf, e2);
    std::vector<std::uint8_t> bad_tag(p.buf.begin(), p.buf.begin() + long(fresh.size));
    bad_tag.back() ^= 1;
    std::vector<std::uint8_t> unknown_index = data;
    unknown_index[4] ^= 0x55;
    std::vector<std::uint8_t> far_old = data;  // counter 0 was used: a replay
    std::vector<std::uint8_t> out(70000);

    auto drops = [&](const std::vector<std::uint8_t>& d, DropReason want, bool load = false) {
        return [&, want, load] {
            Env env = p.env(load);
            const Received r = receive_datagram(*p.b.responder, p.b, d, {}, out, env);
            return r.result.reason == want;
        };
    };
    std::vector<Row> rows = {
        {"unknown message type (parse)", DropReason::Malformed},
        {"initiation with a bad mac1", DropReason::BadMac1},
        {"initiation replayed (valid mac1, stale timestamp)", DropReason::StaleTimestamp},
        {"the same, under load: answered with a cookie reply", DropReason::CookieSent},
        {"data for an unknown session index", DropReason::UnknownIndex},
        {"data replayed (counter already seen)", DropReason::Replayed},
        {"data with a bad tag, 1420-byte packet", DropReason::DecryptFailed},
    };
    rows[0].ns = time_ns(secs, drops(garbage, DropReason::Malformed));
    rows[1].ns = time_ns(secs, drops(bad_mac1, DropReason::BadMac1));
    rows[2].ns = time_ns(secs, drops(initiation, DropReason::StaleTimestamp));
    rows[3].ns = time_ns(secs, drops(initiation, DropReason::CookieSent, true));
    rows[4].ns = time_ns(secs, drops(unknown_index, DropReason::UnknownIndex));
    rows[5].ns = time_ns(secs, drops(far_old, DropReason::Replayed));
    rows[6].ns = time_ns(secs, drops(bad_tag, DropReason::DecryptFailed));

    // Reference: a valid 1420-byte packet, sealed by a and opened by b.
    std::vector<std::uint8_t> sealed(2048);
    const double valid_ns = time_ns(secs, [&] {
        Env env = p.env();
        const TunnResult s = p.a.peer->encapsulate(pkt, sealed, env);
        const Received r = receive_datagram(*p.b.responder, p.b, {sealed.data(), s.size}, {}, out, env);
        return r.result.op == Op::WriteToTunnelV4;
    });

    if (md) {
        std::printf("| hostile datagram | dropped as | ns per datagram | vs a valid 1420-byte packet (seal + open, %.0f ns) |\n"
                    "|---|---|---:|---:|\n",
                    valid_ns);
        for (const Row& r : rows)
            std::printf("| %s | `%s` | %.0f | %.3f |\n", r.what, to_string(r.expect), r.ns, r.ns / valid_ns);
    } else {
        std::printf("%-52s %-16s %10s %8s\n", "hostile datagram", "dropped as", "ns", "x valid");
        for (const Row& r : rows)
            std::printf("%-52s %-16s %10.0f %8.3f\n", r.what, to_string(r.expect), r.ns, r.ns / valid_ns);
        std::printf("%-52s %-16s %10.0f %8.3f\n", "(valid 1420-byte packet: seal + open)", "-", valid_ns, 1.0);
    }
    return 0;
}
