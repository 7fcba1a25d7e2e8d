#include "device.h"

#include "buffer.h"
#include "send_batch.h"
#include "handshake_load.h"
#include "system_clock.h"
#include "tun_offload.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ztna::tunnel::io {

namespace {

constexpr std::size_t kHeadroom = spec::kDataHeaderSize;
constexpr int kPollMs = 200;
constexpr auto kTimerPeriod = std::chrono::milliseconds(100);


// The bytes a cookie is bound to: address then port.
std::size_t source_bytes(const Endpoint& e, std::uint8_t out[18]) {
    const std::size_t n = e.addr.size();
    std::memcpy(out, e.addr.bytes.data(), n);
    out[n] = std::uint8_t(e.port >> 8);
    out[n + 1] = std::uint8_t(e.port);
    return n + 2;
}

}  // namespace

Result<std::unique_ptr<Device>> Device::create(const Options& opts) {
    auto tun = Tun::create(opts.ifname, opts.mtu);
    if (!tun) return Unexpected<Error>{tun.error()};
    return create(std::move(*tun), opts.mtu);
}

Result<std::unique_ptr<Device>> Device::create(std::unique_ptr<Tun> tun, int mtu) {
    std::unique_ptr<Device> d(new Device(std::move(tun)));
    d->mtu_ = mtu;
    auto sock = UdpSocket::open(0, 0);
    if (!sock) return Unexpected<Error>{sock.error()};
    d->sock_ = std::move(*sock);
    return d;
}

Device::Device(std::unique_ptr<Tun> tun) : tun_(std::move(tun)), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Device::~Device() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Device::start() {
    if (running_.exchange(true)) return;
    enc_ = std::thread([this] { encrypt_loop(); });
    dec_ = std::thread([this] { decrypt_loop(); });
    timers_ = std::thread([this] { timer_loop(); });
}

void Device::stop() {
    running_ = false;
    wake();
    for (auto* t : {&enc_, &dec_, &timers_})
        if (t->joinable()) t->join();
}

Env Device::env(Rng& rng) const { return Env{mono_now(), wall_now(), rng, false}; }

void Device::set_endpoint(PeerEntry& e, const Endpoint& ep) {
    auto sock = std::atomic_load(&sock_);
    SockAddr sa;
    if (!sock || !sock->to_sockaddr(ep, sa)) return;
    e.endpoint = ep;
    e.dest = sa;
}

bool Device::send_raw(const SockAddr& to, const std::uint8_t* data, std::size_t n) {
    auto sock = std::atomic_load(&sock_);
    if (!sock) return false;
    if (::sendto(sock->fd(), data, n, 0, reinterpret_cast<const sockaddr*>(&to.ss), to.len) < 0) {
        counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

void Device::send_to(PeerEntry& e, const std::uint8_t* data, std::size_t n) {
    if (!e.endpoint) {
        counters_.no_endpoint.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (send_raw(e.dest, data, n)) e.tx_sent.fetch_add(n, std::memory_order_relaxed);
}

void Device::wake() {
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0 && ::write(wake_fd_, &one, sizeof one) < 0) {
        // The counter is only a doorbell; a full counter still wakes the reader.
    }
}

// TUN -> encrypt -> UDP. Reads until the TUN queue is empty; TCP super-packets
// from the kernel (TSO) are cut into segments; each packet is sealed in place
// and batches go out with sendmmsg.
void Device::encrypt_loop() {
    SystemRng rng;
    SendBatch batch;
    Buffer big(VnetHdr::kSize + limits::kMaxPacketSize);
    const bool vnet = tun_->vnet();
    pollfd pfd{tun_->fd(), POLLIN, 0};
    while (running_.load(std::memory_order_relaxed)) {
        const int pr = ::poll(&pfd, 1, kPollMs);
        if (pr <= 0) continue;
        if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            dead_ = true;
            break;
        }
        auto sock = std::atomic_load(&sock_);
        std::shared_lock lk(config_mu_);
        Env e = env(rng);
        // Seals the packet at batch.slot() + kHeadroom and queues it for sending.
        auto seal = [&](std::size_t len) {
            std::uint8_t* slot = batch.slot();
            IpAddr dst;
            if (!packet_destination(slot + kHeadroom, len, dst)) return;
            const auto id = allowed_.lookup(dst);
            const auto it = id ? by_id_.find(id) : by_id_.end();
            if (it == by_id_.end()) {
                counters_.no_route.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            PeerEntry& pe = *it->second;
            std::lock_guard pl(pe.mu);
            const TunnResult r = pe.peer->encapsulate({slot + kHeadroom, len}, {slot, kSlot}, e);
            if (r.op != Op::WriteToNetwork) return;
            if (!pe.endpoint) {
                counters_.no_endpoint.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            batch.add(pe.dest, r.size, pe.tx_sent);
            if (batch.full()) counters_.send_errors.fetch_add(batch.send(sock.get()), std::memory_order_relaxed);
        };
        for (std::size_t reads = 0; reads < kBatch; ++reads) {
            std::uint8_t* pkt = batch.slot() + kHeadroom;
            std::uint8_t* into = vnet ? pkt - VnetHdr::kSize : pkt;
            const ssize_t got = ::read(tun_->fd(), into, limits::kMaxPacketSize + (vnet ? VnetHdr::kSize : 0));
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN) dead_ = true;
                break;
            }
            std::size_t n = std::size_t(got);
            if (!vnet) {
                seal(n);
                continue;
            }
            if (n < VnetHdr::kSize) continue;
            n -= VnetHdr::kSize;
            const VnetHdr h = VnetHdr::load(into);
            if (h.gso_type == VnetHdr::kGsoNone) {
                if (complete_checksum(pkt, n, h))
                    seal(n);
                else
                    counters_.bad_offload.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            // A super-packet: move it aside and cut it into the batch's slots.
            std::memcpy(big.data(), pkt, n);
            const int segments = split_gso(
                big.data(), n, h, [&](std::size_t) { return batch.slot() + kHeadroom; },
                [&](std::size_t len) { seal(len); });
            if (segments < 0) counters_.bad_offload.fetch_add(1, std::memory_order_relaxed);
        }
        counters_.send_errors.fetch_add(batch.send(sock.get()), std::memory_order_relaxed);
    }
}

namespace {
// Finds peers for receive_datagram and keeps the found one locked until destroyed.
template <typename Entry, typename ByKey, typename ById, typename OwnKey>
struct LockingLookup final : PeerLookup {
    ByKey& by_key;
    ById& by_id;
    OwnKey& own;
    std::unique_lock<std::mutex> held;
    Entry* entry = nullptr;
    LockingLookup(ByKey& k, ById& i, OwnKey& o) : by_key(k), by_id(i), own(o) {}
    Peer* take(Entry* e) {
        entry = e;
        held = std::unique_lock(e->mu);
        return e->peer.get();
    }
    Peer* by_public_key(const PublicKey& k) override {
        auto it = by_key.find(k);
        return it == by_key.end() ? nullptr : take(it->second.get());
    }
    Peer* by_public_key_for(const PublicKey& k, const StaticIdentity& to) override {
        auto range = own.equal_range(k);
        for (auto it = range.first; it != range.second; ++it)
            if (it->second->own_identity->public_key == to.public_key) return take(it->second.get());
        auto it = by_key.find(k);
        if (it == by_key.end()) return nullptr;
        // Peers of the interface's identity are locked before their identity is read.
        Peer* p = take(it->second.get());
        if (p->identity() && p->identity()->public_key == to.public_key) return p;
        entry = nullptr;
        held.unlock();
        return nullptr;
    }
    Peer* by_index(std::uint32_t idx) override {
        auto it = by_id.find(Peer::index_base_of(idx));
        return it == by_id.end() ? nullptr : take(it->second.get());
    }
};
}  // namespace

// UDP -> decrypt -> TUN, batched with recvmmsg. Data is decrypted in place.
// What the decryption thread keeps between datagrams.
struct Device::ReceiveContext {
    SystemRng rng;
    Buffer hs_out{kSlot};
    TcpCoalescer gro;
    HandshakeLoad load;  // this thread sees every handshake message
    bool coalesce = false;
    TcpCoalescer::Writer write_tun;
    std::shared_ptr<UdpSocket> sock;
};

// UDP -> decrypt -> TUN, batched with recvmmsg; with UDP GRO one slot may hold
// several datagrams of the same size back to back. Data is decrypted in place.
void Device::decrypt_loop() {
    ReceiveContext ctx;
    ctx.coalesce = tun_->vnet() && tun_->offload();
    ctx.write_tun = [this](const std::uint8_t* p, std::size_t n) {
        if (::write(tun_->fd(), p, n) < 0) counters_.tun_write_errors.fetch_add(1, std::memory_order_relaxed);
    };
    Buffer storage(kBatch * kSlot);
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iov(kBatch);
    std::vector<sockaddr_storage> from(kBatch);
    constexpr std::size_t kControl = CMSG_SPACE(sizeof(int));
    std::vector<std::uint8_t> control(kBatch * kControl);
    while (running_.load(std::memory_order_relaxed)) {
        ctx.sock = std::atomic_load(&sock_);
        if (!ctx.sock) {
            std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
            continue;
        }
        const int fd = ctx.sock->fd();
        pollfd pfd[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(pfd, 2, kPollMs) <= 0) continue;
        if (pfd[1].revents & POLLIN) {
            std::uint64_t v;
            if (::read(wake_fd_, &v, sizeof v) < 0) {
                // Only a doorbell: nothing to do with the count.
            }
            continue;  // the socket may have changed: pick up the new one
        }
        for (std::size_t i = 0; i < kBatch; ++i) {
            iov[i] = {storage.data() + i * kSlot, kSlot};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = control.data() + i * kControl;
            msgs[i].msg_hdr.msg_controllen = kControl;
        }
        const int got = ::recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) continue;

        std::shared_lock lk(config_mu_);
        Env e = env(ctx.rng);
        for (int i = 0; i < got; ++i) {
            std::uint8_t* dgram = storage.data() + std::size_t(i) * kSlot;
            const std::size_t len = msgs[i].msg_len;
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                counters_.malformed.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            const Endpoint src = UdpSocket::from_sockaddr(from[i]);
            const std::size_t segment = UdpSocket::gro_segment_size(msgs[i].msg_hdr);
            const std::size_t step = segment ? segment : len;
            for (std::size_t off = 0; off < len; off += step)
                receive_one(dgram + off, std::min(step, len - off), src, e, ctx);
        }
        if (ctx.coalesce) ctx.gro.flush(ctx.write_tun);
    }
}

// One datagram from src. Needs kHeadroom bytes before the datagram's payload
// (its own header) to decrypt in place and to prepend a virtio-net header.
void Device::receive_one(std::uint8_t* dgram, std::size_t len, const Endpoint& src, Env& e, ReceiveContext& ctx) {
    const Message m = parse({dgram, len});
    if (std::holds_alternative<ParseError>(m)) {
        counters_.malformed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (auto* data = std::get_if<DataMsg>(&m)) {
        const auto it = by_id_.find(Peer::index_base_of(data->receiver()));
        if (it == by_id_.end()) {
            counters_.unknown_index.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        PeerEntry& pe = *it->second;
        std::uint8_t* plain = dgram + kHeadroom;
        std::unique_lock pl(pe.mu);
        const TunnResult r = pe.peer->decapsulate(m, {plain, len - kHeadroom}, e);
        if (r.authenticated && pe.endpoint != src) set_endpoint(pe, src);
        while (pe.peer->queued() && pe.peer->has_session(e.now)) {
            const TunnResult q = pe.peer->flush_queued(ctx.hs_out, e);
            if (q.op != Op::WriteToNetwork) break;
            send_to(pe, ctx.hs_out.data(), q.size);
        }
        pl.unlock();
        if (r.op != Op::WriteToTunnelV4 && r.op != Op::WriteToTunnelV6) return;
        IpAddr inner_src;
        if (!packet_source(plain, r.size, inner_src) || allowed_.lookup(inner_src) != pe.id) {
            counters_.bad_source.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (ctx.coalesce) {
            ctx.gro.add(plain, r.size, ctx.write_tun);
        } else if (tun_->vnet()) {
            VnetHdr{}.store(plain - VnetHdr::kSize);
            ctx.write_tun(plain - VnetHdr::kSize, r.size + VnetHdr::kSize);
        } else {
            ctx.write_tun(plain, r.size);
        }
        return;
    }
    // Handshake initiation, response or cookie reply.
    if (!responder_) return;
    ctx.load.count(e.now);
    e.under_load = ctx.load.under_load(e.now);
    std::uint8_t srcb[18];
    const std::size_t srcn = source_bytes(src, srcb);
    std::lock_guard rl(responder_mu_);
    LockingLookup<PeerEntry, decltype(by_key_), decltype(by_id_), decltype(own_key_)> lookup(by_key_, by_id_, own_key_);
    const Received r = receive_datagram(*responder_, lookup, {dgram, len}, {srcb, srcn}, ctx.hs_out, e);
    e.under_load = false;
    if (lookup.entry && r.result.authenticated && lookup.entry->endpoint != src) set_endpoint(*lookup.entry, src);
    if (r.result.op == Op::WriteToNetwork) {
        SockAddr to;
        if (ctx.sock->to_sockaddr(src, to) && send_raw(to, ctx.hs_out.data(), r.result.size) && lookup.entry)
            lookup.entry->tx_sent.fetch_add(r.result.size, std::memory_order_relaxed);
    }
    if (lookup.entry) {
        while (true) {
            const TunnResult q = lookup.entry->peer->flush_queued(ctx.hs_out, e);
            if (q.op != Op::WriteToNetwork) break;
            send_to(*lookup.entry, ctx.hs_out.data(), q.size);
        }
    }
}

void Device::timer_loop() {
    SystemRng rng;
    Buffer buf(kSlot);
    Duration second_start = mono_now();
    while (running_.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(kTimerPeriod);
        const Duration now = mono_now();
        bool new_second = now - second_start >= std::chrono::seconds(1);
        if (new_second) {
            second_start = now;
            const int m = tun_->mtu();
            if (m > 0) mtu_ = m;
        }
        std::shared_lock lk(config_mu_);
        Env e = env(rng);
        for (auto& [id, pe] : by_id_) {
            std::lock_guard pl(pe->mu);
            if (new_second) pe->peer->set_mtu(std::size_t(mtu_.load()));
            for (int k = 0; k < 8; ++k) {
                const TunnResult r = pe->peer->update_timers(buf, e);
                if (r.op == Op::Done) break;
                if (r.op == Op::WriteToNetwork) send_to(*pe, buf.data(), r.size);
            }
        }
    }
}

}  // namespace ztna::tunnel::io
