#include "device.h"

#include "buffer.h"
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

constexpr std::size_t kBatch = 32;
constexpr std::size_t kHeadroom = spec::kDataHeaderSize;
constexpr std::size_t kSlot = limits::kMaxPacketSize + 64;
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
    std::unique_ptr<Device> d(new Device(std::move(*tun)));
    d->mtu_ = opts.mtu;
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

namespace {
// The encryption path's batch: packets are sealed in place in their slots and
// go out together with one sendmmsg.
struct SendBatch {
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
}  // namespace

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
template <typename Entry, typename ByKey, typename ById>
struct LockingLookup final : PeerLookup {
    ByKey& by_key;
    ById& by_id;
    std::unique_lock<std::mutex> held;
    Entry* entry = nullptr;
    LockingLookup(ByKey& k, ById& i) : by_key(k), by_id(i) {}
    Peer* take(Entry* e) {
        entry = e;
        held = std::unique_lock(e->mu);
        return e->peer.get();
    }
    Peer* by_public_key(const PublicKey& k) override {
        auto it = by_key.find(k);
        return it == by_key.end() ? nullptr : take(it->second.get());
    }
    Peer* by_index(std::uint32_t idx) override {
        auto it = by_id.find(Peer::index_base_of(idx));
        return it == by_id.end() ? nullptr : take(it->second.get());
    }
};
}  // namespace

// UDP -> decrypt -> TUN, batched with recvmmsg. Data is decrypted in place.
void Device::decrypt_loop() {
    SystemRng rng;
    Buffer storage(kBatch * kSlot);
    Buffer hs_out(kSlot);
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iov(kBatch);
    std::vector<sockaddr_storage> from(kBatch);
    TcpCoalescer gro;
    HandshakeLoad load;  // this thread sees every handshake message
    const bool coalesce = tun_->vnet() && tun_->offload();
    const TcpCoalescer::Writer write_tun = [this](const std::uint8_t* p, std::size_t n) {
        if (::write(tun_->fd(), p, n) < 0) counters_.tun_write_errors.fetch_add(1, std::memory_order_relaxed);
    };
    while (running_.load(std::memory_order_relaxed)) {
        auto sock = std::atomic_load(&sock_);
        if (!sock) {
            std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
            continue;
        }
        pollfd pfd[2] = {{sock->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(pfd, 2, kPollMs) <= 0) continue;
        if (pfd[1].revents & POLLIN) {
            std::uint64_t v;
            if (::read(wake_fd_, &v, sizeof v) < 0) {
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
        }
        const int got = ::recvmmsg(sock->fd(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) continue;

        std::shared_lock lk(config_mu_);
        Env e = env(rng);
        for (int i = 0; i < got; ++i) {
            std::uint8_t* dgram = storage.data() + std::size_t(i) * kSlot;
            const std::size_t len = msgs[i].msg_len;
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                counters_.malformed.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            const Endpoint src = UdpSocket::from_sockaddr(from[i]);
            const Message m = parse({dgram, len});
            if (std::holds_alternative<ParseError>(m)) {
                counters_.malformed.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            if (auto* data = std::get_if<DataMsg>(&m)) {
                const auto it = by_id_.find(Peer::index_base_of(data->receiver()));
                if (it == by_id_.end()) {
                    counters_.unknown_index.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                PeerEntry& pe = *it->second;
                std::uint8_t* plain = dgram + kHeadroom;
                std::unique_lock pl(pe.mu);
                const TunnResult r = pe.peer->decapsulate(m, {plain, kSlot - kHeadroom}, e);
                if (r.authenticated && pe.endpoint != src) set_endpoint(pe, src);
                while (pe.peer->queued() && pe.peer->has_session(e.now)) {
                    const TunnResult q = pe.peer->flush_queued(hs_out, e);
                    if (q.op != Op::WriteToNetwork) break;
                    send_to(pe, hs_out.data(), q.size);
                }
                pl.unlock();
                if (r.op != Op::WriteToTunnelV4 && r.op != Op::WriteToTunnelV6) continue;
                IpAddr inner_src;
                if (!packet_source(plain, r.size, inner_src) || allowed_.lookup(inner_src) != pe.id) {
                    counters_.bad_source.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                if (coalesce) {
                    gro.add(plain, r.size, write_tun);
                } else if (tun_->vnet()) {
                    VnetHdr{}.store(plain - VnetHdr::kSize);
                    write_tun(plain - VnetHdr::kSize, r.size + VnetHdr::kSize);
                } else {
                    write_tun(plain, r.size);
                }
                continue;
            }
            // Handshake initiation, response or cookie reply.
            if (!responder_) continue;
            load.count(e.now);
            e.under_load = load.under_load(e.now);
            std::uint8_t srcb[18];
            const std::size_t srcn = source_bytes(src, srcb);
            std::lock_guard rl(responder_mu_);
            LockingLookup<PeerEntry, decltype(by_key_), decltype(by_id_)> lookup(by_key_, by_id_);
            const Received r = receive_datagram(*responder_, lookup, {dgram, len}, {srcb, srcn}, hs_out, e);
            if (lookup.entry && r.result.authenticated && lookup.entry->endpoint != src)
                set_endpoint(*lookup.entry, src);
            if (r.result.op == Op::WriteToNetwork) {
                SockAddr to;
                if (sock->to_sockaddr(src, to) && send_raw(to, hs_out.data(), r.result.size) && lookup.entry)
                    lookup.entry->tx_sent.fetch_add(r.result.size, std::memory_order_relaxed);
            }
            if (lookup.entry) {
                while (true) {
                    const TunnResult q = lookup.entry->peer->flush_queued(hs_out, e);
                    if (q.op != Op::WriteToNetwork) break;
                    send_to(*lookup.entry, hs_out.data(), q.size);
                }
            }
        }
        if (coalesce) gro.flush(write_tun);
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

std::uint32_t Device::new_peer_id() {
    for (;;) {
        const std::uint32_t id = next_peer_id_;
        next_peer_id_ = (next_peer_id_ + 1) & 0xffffff;
        if (next_peer_id_ == 0) next_peer_id_ = 1;
        if (!by_id_.count(id)) return id;
    }
}

Result<void> Device::apply(const UapiSet& set, int& err) {
    SystemRng rng;
    std::unique_lock lk(config_mu_);
    Env e = env(rng);
    std::vector<std::uint8_t> buf(512);

    // The steps that can fail come first, so a refused request changes nothing.
    auto current = std::atomic_load(&sock_);
    const std::uint32_t mark = set.fwmark.value_or(fwmark_);
    std::shared_ptr<UdpSocket> fresh;
    // listen_port=0 means "any port": the current socket already is one.
    if (set.listen_port && *set.listen_port != 0 && (!current || *set.listen_port != current->port())) {
        int sys_err = 0;
        auto sock = UdpSocket::open(*set.listen_port, mark, &sys_err);
        if (!sock) {
            err = sys_err == EADDRINUSE ? uapi_errno::kAddrInUse : uapi_errno::kInvalid;
            return Unexpected<Error>{sock.error()};
        }
        fresh = std::move(*sock);
    } else if (set.fwmark && *set.fwmark != fwmark_ && current) {
        auto r = current->set_fwmark(*set.fwmark);
        if (!r) {
            err = uapi_errno::kInvalid;
            return r;
        }
    }
    fwmark_ = mark;
    if (fresh) {
        std::atomic_store(&sock_, fresh);
        wake();
        for (auto& [id, pe] : by_id_)
            if (pe->endpoint) set_endpoint(*pe, *pe->endpoint);
    }

    // The same private key again (wg setconf, wg syncconf) keeps every session.
    const bool same_key = set.private_key && identity_ && set.private_key->equals(identity_->private_key);
    if (set.private_key && !same_key) {
        if (set.private_key->is_zero()) {
            identity_.reset();
            responder_.reset();
        } else {
            identity_ = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(*set.private_key));
            responder_ = std::make_unique<Responder>(identity_);
            // A peer with our own public key cannot exist (wireguard-go drops it too).
            auto self = by_key_.find(identity_->public_key);
            if (self != by_key_.end()) {
                allowed_.remove_peer(self->second->id);
                by_id_.erase(self->second->id);
                by_key_.erase(self);
            }
        }
        for (auto& [id, pe] : by_id_) {
            std::lock_guard pl(pe->mu);
            pe->peer->set_identity(identity_);
        }
    }
    if (set.replace_peers) {
        by_key_.clear();
        by_id_.clear();
        allowed_.clear();
    }
    for (const UapiPeerSet& ps : set.peers) {
        if (identity_ && ps.public_key == identity_->public_key) continue;
        auto it = by_key_.find(ps.public_key);
        if (ps.remove) {
            if (it != by_key_.end()) {
                allowed_.remove_peer(it->second->id);
                by_id_.erase(it->second->id);
                by_key_.erase(it);
            }
            continue;
        }
        if (it == by_key_.end()) {
            if (ps.update_only) continue;
            auto pe = std::make_shared<PeerEntry>();
            pe->id = new_peer_id();
            pe->peer = std::make_unique<Peer>(identity_, ps.public_key, Key{}, pe->id);
            pe->peer->set_mtu(std::size_t(mtu_.load()));
            by_id_[pe->id] = pe;
            it = by_key_.emplace(ps.public_key, pe).first;
        }
        PeerEntry& pe = *it->second;
        std::lock_guard pl(pe.mu);
        if (ps.preshared_key) pe.peer->set_preshared_key(*ps.preshared_key);
        if (ps.endpoint) set_endpoint(pe, *ps.endpoint);
        if (ps.replace_allowed_ips) allowed_.remove_peer(pe.id);
        for (const auto& p : ps.allowed_ips) allowed_.insert(p, pe.id);
        if (ps.persistent_keepalive) {
            const Duration interval = std::chrono::seconds(*ps.persistent_keepalive);
            const bool turned_on = interval.count() > 0 && interval != pe.peer->persistent_keepalive();
            pe.peer->set_persistent_keepalive(interval, e.now);
            if (turned_on) {
                const TunnResult r = pe.peer->send_keepalive(buf, e);
                if (r.op == Op::WriteToNetwork) send_to(pe, buf.data(), r.size);
            }
        }
    }
    return {};
}

UapiDeviceGet Device::snapshot() {
    std::shared_lock lk(config_mu_);
    UapiDeviceGet d;
    if (identity_) d.private_key = identity_->private_key;
    auto sock = std::atomic_load(&sock_);
    d.listen_port = sock ? sock->port() : 0;
    d.fwmark = fwmark_;
    for (auto& [key, pe] : by_key_) {
        std::lock_guard pl(pe->mu);
        UapiPeerGet p;
        p.public_key = key;
        p.preshared_key = pe->peer->preshared_key();
        p.endpoint = pe->endpoint;
        const auto& st = pe->peer->stats();
        p.last_handshake_sec = st.last_handshake.count() / 1'000'000'000;
        p.last_handshake_nsec = st.last_handshake.count() % 1'000'000'000;
        p.tx_bytes = pe->tx_sent.load(std::memory_order_relaxed);
        p.rx_bytes = st.rx_bytes;
        p.persistent_keepalive =
            std::uint16_t(std::chrono::duration_cast<std::chrono::seconds>(pe->peer->persistent_keepalive()).count());
        p.allowed_ips = allowed_.prefixes_of(pe->id);
        d.peers.push_back(std::move(p));
    }
    return d;
}

std::string Device::handle_uapi(std::string_view request, std::string* why) {
    UapiError perr{};
    auto req = parse_request(request, perr);
    if (!req) {
        if (why) *why = perr.message;
        return format_errno(perr.errno_value);
    }
    if (req->op == UapiOp::Get) return format_get(snapshot());
    int err = uapi_errno::kNoAno;
    auto r = apply(req->set, err);
    if (!r) {
        if (why) *why = r.error().message;
        return format_errno(err);
    }
    return format_errno(0);
}

}  // namespace ztna::tunnel::io
