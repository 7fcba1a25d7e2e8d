// Linux implementation of the DNS stub (dns_stub.h).
#include "dns_stub.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "dns_message.h"

namespace ztna::agent::dns {

namespace {
// Our own limits, not the protocol's.
constexpr std::size_t kReceiveBuffer = 4096;  // queries are small; a longer datagram is cut, its question still parses
constexpr int kBatch = 64;                    // datagrams read per wake-up before the stop eventfd is looked at again

std::string endpoint_text(const std::string& address, bool v6, std::uint16_t port) {
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::string bind_error(const std::string& where, std::uint16_t port, const std::string& address, int e) {
    const std::string why = std::strerror(e);
    const std::string head = "cannot bind the DNS stub to " + where + ": ";
    switch (e) {
        case EADDRINUSE:
            return head + "port " + std::to_string(port) + " is in use by another resolver or program (" + why +
                   "); stop it (dnsmasq, named, unbound...) or give the stub another address or port";
        case EACCES:
            return head + "ports below 1024 need root or CAP_NET_BIND_SERVICE (" + why +
                   "); grant the agent that capability or use a port above 1023";
        case EADDRNOTAVAIL:
            return head + address + " is not an address of this host (" + why +
                   "); use 127.0.0.1 or an address of one of its interfaces";
        default:
            return head + why;
    }
}
// build_response echoes the name lowercased; put back the client's own case
// (resolvers that randomize it, "DNS 0x20", check the echo). The name has the
// same wire length in both, from offset 12; each byte is checked to be the
// same letter before it is copied.
void echo_question_case(std::vector<std::uint8_t>& reply, std::span<const std::uint8_t> query) {
    for (std::size_t i = kHeaderSize; i < reply.size() && i < query.size() && reply[i] != 0; ++i) {
        const std::uint8_t lower = (query[i] >= 'A' && query[i] <= 'Z') ? static_cast<std::uint8_t>(query[i] - 'A' + 'a') : query[i];
        if (lower != reply[i]) return;
        reply[i] = query[i];
    }
}
}  // namespace

Result<std::unique_ptr<DnsStub>> DnsStub::start(const std::string& address, std::uint16_t port, Lookup lookup,
                                                std::uint32_t ttl) {
    if (!lookup) return fail("DNS stub: no lookup function given");
    sockaddr_storage ss{};
    socklen_t ss_len = 0;
    bool v6 = false;
    if (auto* a4 = reinterpret_cast<sockaddr_in*>(&ss); ::inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        ss_len = sizeof(sockaddr_in);
    } else if (auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss); ::inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        ss_len = sizeof(sockaddr_in6);
        v6 = true;
    } else {
        return fail("DNS stub address \"" + address + "\" is not an IPv4 or IPv6 address (such as 127.0.0.1 or ::1)");
    }
    const std::string where = endpoint_text(address, v6, port);

    const int sock = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (sock < 0) return fail("cannot create the DNS stub's UDP socket for " + where + ": " + std::strerror(errno));
    if (::bind(sock, reinterpret_cast<sockaddr*>(&ss), ss_len) < 0) {
        const int e = errno;
        ::close(sock);
        return fail(bind_error(where, port, address, e));
    }
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(sock, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) {
        const int e = errno;
        ::close(sock);
        return fail("cannot read the port of the DNS stub's socket on " + where + ": " + std::strerror(e));
    }
    const std::uint16_t actual = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) {
        const int e = errno;
        ::close(sock);
        return fail(std::string("cannot create the DNS stub's wake eventfd: ") + std::strerror(e));
    }
    std::unique_ptr<DnsStub> stub(new DnsStub(sock, wake, actual, std::move(lookup), ttl));
    try {
        stub->thread_ = std::thread([s = stub.get()] { s->run(); });
    } catch (const std::system_error& e) {
        return fail(std::string("cannot start the DNS stub's thread: ") + e.what());  // the destructor closes both fds
    }
    return stub;
}

DnsStub::DnsStub(int sock, int wake, std::uint16_t port, Lookup lookup, std::uint32_t ttl)
    : sock_(sock), wake_(wake), port_(port), lookup_(std::move(lookup)), ttl_(ttl) {}

DnsStub::~DnsStub() { stop(); }

void DnsStub::stop() {
    if (thread_.joinable()) {
        const std::uint64_t one = 1;
        while (::write(wake_, &one, sizeof one) < 0 && errno == EINTR) {
        }
        thread_.join();
    }
    if (sock_ >= 0) ::close(sock_);
    if (wake_ >= 0) ::close(wake_);
    sock_ = -1;
    wake_ = -1;
}

void DnsStub::run() {
    std::array<std::uint8_t, kReceiveBuffer> buf{};
    while (true) {
        pollfd fds[2] = {{sock_, POLLIN, 0}, {wake_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;  // EINVAL/ENOMEM: nothing a retry would fix
        }
        if (fds[1].revents != 0) return;
        if (fds[0].revents == 0) continue;
        for (int i = 0; i < kBatch; ++i) {
            sockaddr_storage peer{};
            socklen_t peer_len = sizeof peer;
            const ssize_t n = ::recvfrom(sock_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), &peer_len);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;  // EAGAIN: drained; anything else was a pending socket error, now cleared
            }
            const auto reply = handle(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
            if (!reply) continue;
            if (::sendto(sock_, reply->data(), reply->size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), peer_len) < 0)
                ++counters_.failed;
        }
    }
}

std::optional<std::vector<std::uint8_t>> DnsStub::handle(std::span<const std::uint8_t> packet) {
    ++counters_.queries;
    auto parsed = parse_query(packet);
    if (!parsed) {
        ++counters_.malformed;
        return build_error(packet, parsed.error().code == kErrOpcode ? Rcode::NotImp : Rcode::FormErr);
    }
    const Query& q = *parsed;
    auto respond = [&](Rcode rcode, const std::vector<std::array<std::uint8_t, 4>>& a,
                       const std::vector<std::array<std::uint8_t, 16>>& aaaa) {
        auto reply = build_response(q, rcode, a, aaaa, ttl_);
        echo_question_case(reply, packet);
        return reply;
    };
    if (q.qclass != kClassIN && q.qclass != kClassANY) {
        ++counters_.refused;
        return respond(Rcode::Refused, {}, {});
    }
    Answer answer;
    try {
        answer = lookup_(q.name);
    } catch (...) {  // a lookup bug must not end the stub's thread
        ++counters_.failed;
        return respond(Rcode::ServFail, {}, {});
    }
    if (answer.kind != Answer::Kind::Granted) {
        ++counters_.refused;
        return respond(Rcode::Refused, {}, {});
    }
    std::vector<std::array<std::uint8_t, 4>> a;
    std::vector<std::array<std::uint8_t, 16>> aaaa;
    for (const auto& text : answer.addresses) {
        std::array<std::uint8_t, 4> v4{};
        std::array<std::uint8_t, 16> v6{};
        if (::inet_pton(AF_INET, text.c_str(), v4.data()) == 1)
            a.push_back(v4);
        else if (::inet_pton(AF_INET6, text.c_str(), v6.data()) == 1)
            aaaa.push_back(v6);
    }
    ++counters_.answered;
    return respond(Rcode::NoError, a, aaaa);
}

}  // namespace ztna::agent::dns
