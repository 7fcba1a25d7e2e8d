// SendBatch over real loopback sockets (no privileges): UDP GSO groups arrive
// as the separate datagrams they were, and peers are credited what was sent.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <poll.h>

#include <cstring>
#include <vector>

#include "send_batch.h"
#include "udp.h"

using namespace ztna::tunnel::io;

namespace {
// A plain receiving socket on 127.0.0.1 (no GRO: each datagram separately).
struct Receiver {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    std::uint16_t port = 0;
    Receiver() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        const int size = 4 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    ~Receiver() { ::close(fd); }
    std::vector<std::vector<std::uint8_t>> drain(std::size_t want) {
        std::vector<std::vector<std::uint8_t>> got;
        std::vector<std::uint8_t> buf(70000);
        while (got.size() < want) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 2000) <= 0) break;
            const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n < 0) break;
            got.emplace_back(buf.begin(), buf.begin() + n);
        }
        return got;
    }
};
}  // namespace

TEST_CASE("a batch of same-size datagrams with a short last one arrives intact and in order, GSO or not") {
    for (bool gso : {true, false}) {
        CAPTURE(gso);
        Receiver rx;
        auto sock = UdpSocket::open(0, 0);
        REQUIRE(sock);
        if (!gso) (*sock)->disable_gso();
        Endpoint to{*parse_ip("127.0.0.1"), rx.port};
        SockAddr sa;
        REQUIRE((*sock)->to_sockaddr(to, sa));
        SendBatch batch;
        std::atomic<std::uint64_t> tx{0};
        const std::vector<std::size_t> sizes = {1452, 1452, 1452, 1452, 1452, 600, 1452, 80};
        std::size_t total = 0;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            std::memset(batch.slot(), int(i + 1), sizes[i]);
            batch.add(sa, sizes[i], tx);
            total += sizes[i];
        }
        CHECK(batch.send(sock->get()) == 0);
        CHECK((*sock)->gso() == gso);  // loopback takes UDP_SEGMENT: not switched off by a refusal
        CHECK(tx.load() == total);
        const auto got = rx.drain(sizes.size());
        REQUIRE(got.size() == sizes.size());
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            CAPTURE(i);
            CHECK(got[i].size() == sizes[i]);
            CHECK(got[i].front() == std::uint8_t(i + 1));
            CHECK(got[i].back() == std::uint8_t(i + 1));
        }
    }
}

TEST_CASE("a datagram the kernel refuses is counted and not credited") {
    auto sock = UdpSocket::open(0, 0);
    REQUIRE(sock);
    Endpoint to{*parse_ip("127.0.0.1"), 9};
    SockAddr sa;
    REQUIRE((*sock)->to_sockaddr(to, sa));
    SockAddr bad = sa;
    bad.len = 3;  // an invalid address length: EINVAL for that message
    SendBatch batch;
    std::atomic<std::uint64_t> tx{0};
    std::memset(batch.slot(), 0, 100);
    batch.add(bad, 100, tx);
    std::memset(batch.slot(), 0, 100);
    batch.add(sa, 100, tx);
    CHECK(batch.send(sock->get()) == 1);
    CHECK(tx.load() == 100);
}

TEST_CASE("a UDP GRO socket receives a GSO batch as one buffer and names the segment size") {
    auto rx = UdpSocket::open(0, 0);
    auto tx_sock = UdpSocket::open(0, 0);
    REQUIRE(rx);
    REQUIRE(tx_sock);
    Endpoint to{*parse_ip("127.0.0.1"), (*rx)->port()};
    SockAddr sa;
    REQUIRE((*tx_sock)->to_sockaddr(to, sa));
    SendBatch batch;
    std::atomic<std::uint64_t> tx{0};
    for (int i = 0; i < 4; ++i) {
        std::memset(batch.slot(), i + 1, 1000);
        batch.add(sa, i < 3 ? 1000 : 300, tx);
    }
    REQUIRE(batch.send(tx_sock->get()) == 0);

    std::vector<std::uint8_t> buf(70000);
    std::size_t seen = 0, segment = 0, buffers = 0;
    while (seen < 3300) {
        pollfd p{(*rx)->fd(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, 2000) == 1);
        iovec iov{buf.data(), buf.size()};
        alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(int))];
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg((*rx)->fd(), &m, 0);
        REQUIRE(n > 0);
        segment = UdpSocket::gro_segment_size(m);
        seen += std::size_t(n);
        ++buffers;
    }
    CHECK(seen == 3300);
    // Coalesced: fewer buffers than datagrams, each naming the 1000-byte segments.
    CHECK(buffers < 4);
    CHECK(segment == 1000);
}
