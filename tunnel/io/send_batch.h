// The encryption path's batch: packets sealed in place in their slots go out
// together with one sendmmsg. Consecutive datagrams to the same endpoint with
// the same size (the last may be shorter) go as one UDP GSO message
// (UDP_SEGMENT), so the kernel walks its UDP path once for all of them. Each
// peer is credited only with what the socket accepted.
#pragma once

#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "buffer.h"
#include "constants.h"
#include "udp.h"

namespace ztna::tunnel::io {

inline constexpr std::size_t kBatch = 32;  // datagrams per sendmmsg / recvmmsg
inline constexpr std::size_t kSlot = limits::kMaxPacketSize + 64;  // one packet, its header, padding and tag

class SendBatch {
public:
    std::uint8_t* slot() { return storage_.data() + n_ * kSlot; }
    bool full() const { return n_ == kBatch; }
    void add(const SockAddr& to, std::size_t size, std::atomic<std::uint64_t>& tx_counter) {
        tx_[n_] = &tx_counter;
        dests_[n_] = to;
        iov_[n_] = {slot(), size};
        ++n_;
    }

    // Returns the number of datagrams that could not be sent. A socket that
    // stays full for kMaxWaits polls (about a second) loses the rest of the
    // batch rather than holding the peer and configuration locks.
    std::size_t send(UdpSocket* sock) {
        if (!sock) {
            const std::size_t lost = n_;
            n_ = 0;
            return lost;
        }
        group(sock->gso(), 0);
        std::size_t failed = flush(sock);
        if (failed_gso_) {  // the kernel refused UDP_SEGMENT here: never again; the rest one by one
            sock->disable_gso();
            group(false, resend_from_);
            failed += flush(sock);
        }
        n_ = 0;
        return failed;
    }

private:
    static constexpr int kMaxWaits = 100;
    static constexpr std::size_t kMaxSegments = 64;  // UDP_MAX_SEGMENTS
    static constexpr std::size_t kMaxGsoBytes = 65000;

    // Builds the messages: groups of consecutive same-size datagrams to one destination.
    void group(bool gso, std::size_t from) {
        groups_ = 0;
        failed_gso_ = false;
        for (std::size_t i = from; i < n_;) {
            std::size_t j = i + 1, bytes = iov_[i].iov_len;
            const std::size_t seg = iov_[i].iov_len;
            if (gso) {
                while (j < n_ && j - i < kMaxSegments && bytes + iov_[j].iov_len <= kMaxGsoBytes &&
                       dests_[j].len == dests_[i].len &&
                       std::memcmp(&dests_[j].ss, &dests_[i].ss, dests_[i].len) == 0 && iov_[j].iov_len <= seg &&
                       iov_[j - 1].iov_len == seg) {
                    bytes += iov_[j].iov_len;
                    ++j;
                }
            }
            mmsghdr& m = msgs_[groups_];
            m = {};
            m.msg_hdr.msg_name = &dests_[i].ss;
            m.msg_hdr.msg_namelen = dests_[i].len;
            m.msg_hdr.msg_iov = &iov_[i];
            m.msg_hdr.msg_iovlen = j - i;
            if (j - i > 1) {
                std::uint8_t* c = control_.data() + groups_ * kControl;
                m.msg_hdr.msg_control = c;
                m.msg_hdr.msg_controllen = kControl;
                cmsghdr* h = CMSG_FIRSTHDR(&m.msg_hdr);
                h->cmsg_level = SOL_UDP;
                h->cmsg_type = UDP_SEGMENT;
                h->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
                const std::uint16_t size = std::uint16_t(seg);
                std::memcpy(CMSG_DATA(h), &size, sizeof size);
            }
            first_[groups_] = i;
            ++groups_;
            i = j;
        }
    }

    std::size_t flush(UdpSocket* sock) {
        std::size_t sent = 0, failed = 0;
        int waits = 0;
        while (sent < groups_) {
            const int r = ::sendmmsg(sock->fd(), msgs_.data() + sent, unsigned(groups_ - sent), 0);
            if (r > 0) {
                for (std::size_t g = sent; g < sent + std::size_t(r); ++g) credit(g);
                sent += std::size_t(r);
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && ++waits <= kMaxWaits) {
                pollfd w{sock->fd(), POLLOUT, 0};
                ::poll(&w, 1, 10);
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && (errno == EIO || errno == EINVAL) && msgs_[sent].msg_hdr.msg_iovlen > 1) {
                failed_gso_ = true;  // no segmentation offload on this path
                resend_from_ = first_[sent];
                return failed;
            }
            const std::size_t lost = waits > kMaxWaits ? groups_ - sent : 1;
            for (std::size_t g = sent; g < sent + lost; ++g) failed += msgs_[g].msg_hdr.msg_iovlen;
            sent += lost;  // unreachable destination and the like: skip that message
        }
        return failed;
    }

    void credit(std::size_t g) {
        const std::size_t first = first_[g];
        for (std::size_t k = 0; k < msgs_[g].msg_hdr.msg_iovlen; ++k)
            tx_[first + k]->fetch_add(iov_[first + k].iov_len, std::memory_order_relaxed);
    }

    static constexpr std::size_t kControl = CMSG_SPACE(sizeof(std::uint16_t));
    Buffer storage_{kBatch * kSlot};
    std::vector<iovec> iov_ = std::vector<iovec>(kBatch);
    std::vector<SockAddr> dests_ = std::vector<SockAddr>(kBatch);
    std::vector<std::atomic<std::uint64_t>*> tx_ = std::vector<std::atomic<std::uint64_t>*>(kBatch);
    std::vector<mmsghdr> msgs_ = std::vector<mmsghdr>(kBatch);
    std::vector<std::size_t> first_ = std::vector<std::size_t>(kBatch);
    std::vector<std::uint8_t> control_ = std::vector<std::uint8_t>(kBatch * kControl);
    std::size_t n_ = 0;
    std::size_t groups_ = 0;
    bool failed_gso_ = false;
    std::size_t resend_from_ = 0;
};

}  // namespace ztna::tunnel::io
