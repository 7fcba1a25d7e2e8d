#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "udp.h"

namespace ztna::tunnel::io {

namespace {
constexpr int kSocketBuffer = 4 << 20;

void size_buffers(int fd) {
    const int size = kSocketBuffer;
    // FORCE works as root past net.core.{r,w}mem_max; fall back to the capped call.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}
}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(std::uint16_t port, std::uint32_t fwmark, int* sys_errno) {
    auto failed = [&](std::string msg) {
        if (sys_errno) *sys_errno = errno;
        return fail(std::move(msg));
    };
    bool v6 = true;
    int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
        const int off = 0;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_any;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
            const int e = errno;
            ::close(fd);
            fd = -1;
            if (e == EADDRINUSE) {
                errno = e;
                return failed("UDP port " + std::to_string(port) + " is already in use; pick another listen-port");
            }
        }
    }
    if (fd < 0) {  // no IPv6 here: IPv4 only
        v6 = false;
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) return failed(std::string("cannot create a UDP socket: ") + std::strerror(errno));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
            const int e = errno;
            ::close(fd);
            errno = e;
            return failed("cannot bind UDP port " + std::to_string(port) + ": " + std::strerror(e));
        }
    }
    size_buffers(fd);
    const int on = 1;
    ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);  // best effort: older kernels lack it
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    const std::uint16_t actual = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    std::unique_ptr<UdpSocket> s(new UdpSocket(fd, actual, v6));
    if (fwmark) {
        auto r = s->set_fwmark(fwmark);
        if (!r) {
            if (sys_errno) *sys_errno = EPERM;
            return Unexpected<Error>{r.error()};
        }
    }
    return s;
}

UdpSocket::~UdpSocket() {
    if (fd_ >= 0) ::close(fd_);
}

std::size_t UdpSocket::gro_segment_size(const msghdr& m) {
    for (const cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int size = 0;
            std::memcpy(&size, CMSG_DATA(c), sizeof size);
            return size > 0 ? std::size_t(size) : 0;
        }
    }
    return 0;
}

Result<void> UdpSocket::set_fwmark(std::uint32_t mark) {
    if (::setsockopt(fd_, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
        return fail("cannot set fwmark " + std::to_string(mark) + ": " + std::strerror(errno) + " (needs CAP_NET_ADMIN)");
    return {};
}

bool UdpSocket::to_sockaddr(const Endpoint& e, SockAddr& out) const {
    out = SockAddr{};
    if (v6_) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&out.ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(e.port);
        if (e.addr.v6) {
            std::memcpy(&a->sin6_addr, e.addr.bytes.data(), 16);
        } else {  // IPv4-mapped
            a->sin6_addr.s6_addr[10] = 0xff;
            a->sin6_addr.s6_addr[11] = 0xff;
            std::memcpy(&a->sin6_addr.s6_addr[12], e.addr.bytes.data(), 4);
        }
        out.len = sizeof(sockaddr_in6);
        return true;
    }
    if (e.addr.v6) return false;
    auto* a = reinterpret_cast<sockaddr_in*>(&out.ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(e.port);
    std::memcpy(&a->sin_addr, e.addr.bytes.data(), 4);
    out.len = sizeof(sockaddr_in);
    return true;
}

Endpoint UdpSocket::from_sockaddr(const sockaddr_storage& ss) {
    Endpoint e;
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        e.port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            std::memcpy(e.addr.bytes.data(), &a->sin6_addr.s6_addr[12], 4);
        } else {
            e.addr.v6 = true;
            std::memcpy(e.addr.bytes.data(), &a->sin6_addr, 16);
        }
    } else if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        e.port = ntohs(a->sin_port);
        std::memcpy(e.addr.bytes.data(), &a->sin_addr, 4);
    }
    return e;
}

}  // namespace ztna::tunnel::io
