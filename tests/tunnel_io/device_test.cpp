// Two devices in one process, without privileges: each "TUN" is one end of a
// SOCK_SEQPACKET socketpair (Tun::adopt), the UDP sockets are real ones on
// 127.0.0.1, configuration goes through the UAPI text. Covers the device's
// threads, batching, UDP GSO/GRO over loopback, handshake, roaming and removal.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "device.h"
#include "keys.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::io;

namespace {

struct Node {
    std::unique_ptr<Device> dev;
    int app = -1;  // the "kernel" side of the TUN double
    Key priv;
    PublicKey pub{};
    std::uint16_t port = 0;

    explicit Node(const char* name) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        // Room for a whole burst on both ends (a real TUN queues 500 packets).
        const int room = 4 << 20;
        for (int fd : sv) {
            ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
        }
        auto d = Device::create(Tun::adopt(sv[0], name), 1420);
        REQUIRE(d);
        dev = std::move(*d);
        app = sv[1];
        SystemRng rng;
        priv = generate_private_key(rng);
        pub = public_key_of(priv);
        REQUIRE(uapi("set=1\nprivate_key=" + to_hex(priv.span())) == "errno=0\n\n");
        const std::string got = uapi("get=1");
        const auto at = got.find("listen_port=");
        REQUIRE(at != std::string::npos);
        port = std::uint16_t(std::stoi(got.substr(at + 12)));
    }
    ~Node() {
        dev->stop();
        ::close(app);
    }
    std::string uapi(const std::string& req) { return dev->handle_uapi(req); }
    void add_peer(const Node& other, const char* allowed) {
        const std::string req = "set=1\npublic_key=" + to_hex(other.pub) + "\nendpoint=127.0.0.1:" +
                                std::to_string(other.port) + "\nallowed_ip=" + allowed;
        REQUIRE(uapi(req) == "errno=0\n\n");
    }
    void send(const std::vector<std::uint8_t>& pkt) const {
        REQUIRE(::send(app, pkt.data(), pkt.size(), 0) == ssize_t(pkt.size()));
    }
    // The next packet the device writes to its TUN, or empty after timeout_ms.
    std::vector<std::uint8_t> receive(int timeout_ms = 3000) const {
        pollfd p{app, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) != 1) return {};
        std::vector<std::uint8_t> buf(70000);
        const ssize_t n = ::recv(app, buf.data(), buf.size(), 0);
        if (n <= 0) return {};
        buf.resize(std::size_t(n));
        return buf;
    }
};

std::vector<std::uint8_t> ipv4(const char* src, const char* dst, std::size_t n, std::uint8_t fill) {
    std::vector<std::uint8_t> p(n, fill);
    p[0] = 0x45;
    p[1] = 0;
    p[2] = std::uint8_t(n >> 8);
    p[3] = std::uint8_t(n);
    p[9] = 17;
    const auto s = parse_ip(src), d = parse_ip(dst);
    std::memcpy(&p[12], s->bytes.data(), 4);
    std::memcpy(&p[16], d->bytes.data(), 4);
    return p;
}

std::uint64_t field(const std::string& uapi, const std::string& key) {
    const auto at = uapi.find("\n" + key + "=");
    return at == std::string::npos ? 0 : std::stoull(uapi.substr(at + key.size() + 2));
}

}  // namespace

TEST_CASE("two devices in one process: handshake, packets both ways, counters, source check, removal") {
    Node a("dta"), b("dtb");
    a.add_peer(b, "10.0.0.2/32");
    b.add_peer(a, "10.0.0.1/32");
    a.dev->start();
    b.dev->start();

    // a -> b: the first packet waits for the handshake, then arrives intact.
    const auto p1 = ipv4("10.0.0.1", "10.0.0.2", 1400, 0x5a);
    a.send(p1);
    CHECK(b.receive() == p1);
    // b -> a, and a burst of 200 (batched, GSO over loopback) in order.
    const auto p2 = ipv4("10.0.0.2", "10.0.0.1", 100, 0x11);
    b.send(p2);
    CHECK(a.receive() == p2);
    // Bursts of 25 (a unix socket's queue is shorter than a TUN's); a lost packet ends the wait.
    int in_order = 0;
    for (int burst = 0; burst < 8; ++burst) {
        for (int i = 0; i < 25; ++i) a.send(ipv4("10.0.0.1", "10.0.0.2", 1200, std::uint8_t(burst * 25 + i)));
        for (int i = 0; i < 25; ++i) {
            const auto got = b.receive(1000);
            if (got.empty()) break;
            if (got.size() == 1200 && got[100] == std::uint8_t(burst * 25 + i)) ++in_order;
        }
    }
    CHECK(in_order == 200);

    // The sender credits tx_bytes just after sendmmsg returns, and over loopback the receiver
    // can be faster than that: wait (bounded) for the last batch's credit.
    std::string ga = a.uapi("get=1");
    for (int i = 0; i < 200 && field(ga, "tx_bytes") <= 200 * 1200; ++i) {
        ::poll(nullptr, 0, 10);
        ga = a.uapi("get=1");
    }
    CHECK(field(ga, "last_handshake_time_sec") > 0);
    CHECK(field(ga, "tx_bytes") > 200 * 1200);
    CHECK(field(ga, "rx_bytes") > 0);
    CHECK(ga.find("endpoint=127.0.0.1:" + std::to_string(b.port)) != std::string::npos);

    // Cryptokey routing, inbound: a packet from a whose source address b does not allow for a
    // (10.0.0.99, not 10.0.0.1) is dropped after decryption and counted.
    a.send(ipv4("10.0.0.99", "10.0.0.2", 300, 0x77));
    CHECK(b.receive(500).empty());
    CHECK(b.dev->counters().bad_source.load() == 1);
    // Outbound: a packet to an address no peer allows is not sent at all.
    a.send(ipv4("10.0.0.1", "10.0.0.3", 300, 0x78));
    CHECK(b.receive(300).empty());
    CHECK(a.dev->counters().no_route.load() == 1);

    // b removes a: nothing from a gets through any more.
    REQUIRE(b.uapi("set=1\npublic_key=" + to_hex(a.pub) + "\nremove=true") == "errno=0\n\n");
    a.send(ipv4("10.0.0.1", "10.0.0.2", 500, 0x22));
    CHECK(b.receive(500).empty());
}

TEST_CASE("peers with their own local keys: two for one remote key, handshakes started by either side") {
    // a plays the agent: two grants towards the same gateway b (two peers, one remote key,
    // two local keys), and c, an ordinary peer of a's interface key.
    Node a("dtpa"), b("dtpb"), c("dtpc");
    SystemRng rng;
    const Key k1 = generate_private_key(rng), k2 = generate_private_key(rng);
    const PublicKey p1 = public_key_of(k1), p2 = public_key_of(k2);
    const auto own = [&](const Key& k, const char* allowed) {
        Device::OwnKeyPeer o;
        o.local_private = k;
        o.remote = b.pub;
        o.endpoint = *parse_endpoint("127.0.0.1:" + std::to_string(b.port));
        o.allowed_ips = {*parse_prefix(allowed)};
        return a.dev->add_own_key_peer(o);
    };
    auto id1 = own(k1, "10.0.0.2/32");
    auto id2 = own(k2, "10.0.0.4/32");
    REQUIRE(id1);
    REQUIRE(id2);
    CHECK(!own(k1, "10.0.0.5/32"));  // the same pair twice
    a.add_peer(c, "10.0.0.3/32");
    // b knows a by the two grant keys (as the gateway does), c by a's interface key.
    for (const auto& [pk, src] : {std::pair{p1, "10.0.0.1/32"}, std::pair{p2, "10.0.0.11/32"}})
        REQUIRE(b.uapi("set=1\npublic_key=" + to_hex(pk) + "\nendpoint=127.0.0.1:" + std::to_string(a.port) + "\nallowed_ip=" + src) ==
                "errno=0\n\n");
    c.add_peer(a, "10.0.0.1/32");
    a.dev->start();
    b.dev->start();
    c.dev->start();

    // a -> b through each grant's peer (a initiates with each grant key), and b answers.
    const auto q1 = ipv4("10.0.0.1", "10.0.0.2", 300, 0x31);
    a.send(q1);
    CHECK(b.receive() == q1);
    const auto q2 = ipv4("10.0.0.11", "10.0.0.4", 300, 0x32);
    a.send(q2);
    CHECK(b.receive() == q2);
    const auto r2 = ipv4("10.0.0.4", "10.0.0.11", 200, 0x33);
    b.send(r2);
    CHECK(a.receive() == r2);
    // c -> a: towards the interface's key, unaffected.
    const auto q3 = ipv4("10.0.0.3", "10.0.0.1", 200, 0x34);
    c.send(q3);
    CHECK(a.receive() == q3);
    const std::string shown = a.uapi("get=1");
    CHECK(shown.find("public_key=" + to_hex(b.pub)) != std::string::npos);
    CHECK(shown.find(to_hex(k1.span())) == std::string::npos);  // a grant's private key is never shown

    // b starts a fresh handshake towards grant key 2: a's responder must find that peer.
    REQUIRE(b.uapi("set=1\npublic_key=" + to_hex(p2) + "\nremove=true") == "errno=0\n\n");
    REQUIRE(b.uapi("set=1\npublic_key=" + to_hex(p2) + "\nendpoint=127.0.0.1:" + std::to_string(a.port) +
                   "\nallowed_ip=10.0.0.11/32") == "errno=0\n\n");
    const auto r3 = ipv4("10.0.0.4", "10.0.0.11", 250, 0x35);
    b.send(r3);
    CHECK(a.receive() == r3);
    CHECK(a.dev->counters().bad_source.load() == 0);

    // Removing grant 1 leaves grant 2 working.
    a.dev->remove_own_key_peer(*id1);
    a.send(ipv4("10.0.0.1", "10.0.0.2", 300, 0x36));
    CHECK(b.receive(500).empty());
    const auto q4 = ipv4("10.0.0.11", "10.0.0.4", 300, 0x37);
    a.send(q4);
    CHECK(b.receive() == q4);
}
