// The encryption path's batch: packets sealed in place in their slots go out
// together with one sendmmsg, and each peer is credited only with what the
// socket accepted.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "buffer.h"
#include "constants.h"
#include "udp.h"

namespace ztna::tunnel::io {

inline constexpr std::size_t kBatch = 32;  // datagrams per sendmmsg / recvmmsg
inline constexpr std::size_t kSlot = limits::kMaxPacketSize + 64;  // one packet, its header, padding and tag

class SendBatch {
public:
    Buffer storage{kBatch * kSlot};
    std::vector<mmsghdr> msgs = std::vector<mmsghdr>(kBatch);
    std::vector<iovec> iov = std::vector<iovec>(kBatch);
    std::vector<SockAddr> dests = std::vector<SockAddr>(kBatch);
    std::vector<std::atomic<std::uint64_t>*> tx = std::vector<std::atomic<std::uint64_t>*>(kBatch);
    std::size_t n = 0;

    std::uint8_t* slot() { return storage.data() + n * kSlot; }
    bool full() const { return n == kBatch; }
    void add(const SockAddr& to, std::size_t size, std::atomic<std::uint64_t>& tx_counter) {
        tx[n] = &tx_counter;
        dests[n] = to;
        iov[n] = {slot(), size};
        msgs[n] = {};
        msgs[n].msg_hdr.msg_name = &dests[n].ss;
        msgs[n].msg_hdr.msg_namelen = dests[n].len;
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        ++n;
    }
    // Returns the number of datagrams that could not be sent. A socket that
    // stays full for kMaxWaits polls (about a second) loses the rest of the
    // batch rather than holding the peer and configuration locks.
    std::size_t send(const UdpSocket* sock) {
        static constexpr int kMaxWaits = 100;
        std::size_t sent = 0, failed = 0;
        int waits = 0;
        while (sock && sent < n) {
            const int r = ::sendmmsg(sock->fd(), msgs.data() + sent, unsigned(n - sent), 0);
            if (r > 0) {
                for (std::size_t i = sent; i < sent + std::size_t(r); ++i)
                    tx[i]->fetch_add(iov[i].iov_len, std::memory_order_relaxed);
                sent += std::size_t(r);
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && ++waits <= kMaxWaits) {
                pollfd w{sock->fd(), POLLOUT, 0};
                ::poll(&w, 1, 10);
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            if (waits > kMaxWaits) {
                failed += n - sent;
                break;
            }
            ++failed;  // unreachable destination and the like: skip that datagram
            ++sent;
        }
        if (!sock) failed = n;
        n = 0;
        return failed;
    }
};
}  // namespace ztna::tunnel::io
