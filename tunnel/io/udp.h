// The one UDP socket of a device, for IPv4 and IPv6 (a dual-stack IPv6
// socket, or IPv4 only where IPv6 is off), with batched receive and send.
// One implementation file per OS (udp_linux.cpp).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <ztna/result.h>

#include "uapi_codec.h"

namespace ztna::tunnel::io {

struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
};

class UdpSocket {
public:
    // port 0 picks a free port. Buffers are sized for line rate (4 MiB).
    // On failure, *sys_errno (if given) holds the errno of the call that failed.
    static Result<std::unique_ptr<UdpSocket>> open(std::uint16_t port, std::uint32_t fwmark, int* sys_errno = nullptr);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    int fd() const { return fd_; }
    std::uint16_t port() const { return port_; }
    bool dual_stack() const { return v6_; }
    Result<void> set_fwmark(std::uint32_t mark);

    // UDP segmentation offload: one send carries many same-size datagrams
    // (UDP_SEGMENT); switched off for good after the kernel refuses it once.
    bool gso() const { return gso_.load(std::memory_order_relaxed); }
    void disable_gso() { gso_.store(false, std::memory_order_relaxed); }
    // With UDP_GRO on, a received buffer may hold several datagrams of this
    // size back to back (0: one datagram).
    static std::size_t gro_segment_size(const msghdr& m);

    // The address to send to for an endpoint, in this socket's family.
    bool to_sockaddr(const Endpoint& e, SockAddr& out) const;
    static Endpoint from_sockaddr(const sockaddr_storage& ss);

private:
    UdpSocket(int fd, std::uint16_t port, bool v6) : fd_(fd), port_(port), v6_(v6) {}
    int fd_;
    std::uint16_t port_;
    bool v6_;
    std::atomic<bool> gso_{true};
};

}  // namespace ztna::tunnel::io
