// The device's configuration through the UAPI: applying a set=1 request and
// taking the snapshot that answers get=1.
#include <cerrno>

#include "device.h"
#include "system_clock.h"

namespace ztna::tunnel::io {

// Random, so session indices on the wire do not tell how many peers there
// are or in which order they were added.
std::uint32_t Device::new_peer_id(Rng& rng) {
    for (;;) {
        const std::uint32_t id = rng.next_u32() & 0xffffff;
        if (id != 0 && !by_id_.count(id)) return id;
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
            if (!pe->own_identity) pe->peer->set_identity(identity_);
        }
        if (!identity_) {  // no interface key: peers with their own keys cannot be answered either
            for (auto& [key, pe] : own_key_) {
                allowed_.remove_peer(pe->id);
                by_id_.erase(pe->id);
            }
            own_key_.clear();
        }
    }
    if (set.replace_peers) {  // the UAPI's peers; peers with their own keys are not the UAPI's
        for (auto& [key, pe] : by_key_) {
            allowed_.remove_peer(pe->id);
            by_id_.erase(pe->id);
        }
        by_key_.clear();
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
            pe->id = new_peer_id(rng);
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
    refresh_extra_identities();
    return {};
}

void Device::refresh_extra_identities() {
    if (!responder_) return;
    std::vector<std::shared_ptr<const StaticIdentity>> extra;
    for (auto& [id, pe] : by_id_)
        if (pe->own_identity) extra.push_back(pe->own_identity);
    std::lock_guard rl(responder_mu_);
    responder_->set_extra_identities(extra);
}

Result<std::uint32_t> Device::add_own_key_peer(const OwnKeyPeer& p) {
    SystemRng rng;
    std::unique_lock lk(config_mu_);
    if (!responder_) return fail("set a private key on " + name() + " before adding peers with their own keys");
    auto own = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(p.local_private));
    if (own->public_key == identity_->public_key) return fail("a peer's own key must differ from the interface's key");
    auto range = own_key_.equal_range(p.remote);
    for (auto it = range.first; it != range.second; ++it)
        if (it->second->own_identity->public_key == own->public_key) return fail("this peer already exists with this local key");
    Env e = env(rng);
    auto pe = std::make_shared<PeerEntry>();
    pe->id = new_peer_id(rng);
    pe->own_identity = own;
    pe->peer = std::make_unique<Peer>(own, p.remote, Key{}, pe->id);
    pe->peer->set_mtu(std::size_t(mtu_.load()));
    by_id_[pe->id] = pe;
    own_key_.emplace(p.remote, pe);
    std::lock_guard pl(pe->mu);
    set_endpoint(*pe, p.endpoint);
    for (const auto& prefix : p.allowed_ips) allowed_.insert(prefix, pe->id);
    refresh_extra_identities();
    if (p.persistent_keepalive_s > 0) {
        std::vector<std::uint8_t> buf(512);
        pe->peer->set_persistent_keepalive(std::chrono::seconds(p.persistent_keepalive_s), e.now);
        const TunnResult r = pe->peer->send_keepalive(buf, e);
        if (r.op == Op::WriteToNetwork) send_to(*pe, buf.data(), r.size);
    }
    return pe->id;
}

void Device::remove_own_key_peer(std::uint32_t id) {
    std::unique_lock lk(config_mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end() || !it->second->own_identity) return;
    for (auto k = own_key_.begin(); k != own_key_.end(); ++k)
        if (k->second == it->second) {
            own_key_.erase(k);
            break;
        }
    allowed_.remove_peer(id);
    by_id_.erase(it);
    refresh_extra_identities();
}

std::optional<Device::PeerCounters> Device::peer_counters(std::uint32_t id) {
    std::shared_lock lk(config_mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    std::lock_guard pl(it->second->mu);
    const auto& st = it->second->peer->stats();
    return PeerCounters{std::int64_t(st.last_handshake.count() / 1'000'000'000), st.rx_bytes,
                        it->second->tx_sent.load(std::memory_order_relaxed)};
}

void Device::force_handshake(std::uint32_t id) {
    SystemRng rng;
    std::shared_lock lk(config_mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end() || !it->second->own_identity) return;
    Env e = env(rng);
    std::vector<std::uint8_t> buf(512);
    std::lock_guard pl(it->second->mu);
    const TunnResult r = it->second->peer->force_handshake(buf, e);
    if (r.op == Op::WriteToNetwork) send_to(*it->second, buf.data(), r.size);
}

UapiDeviceGet Device::snapshot() {
    std::shared_lock lk(config_mu_);
    UapiDeviceGet d;
    if (identity_) d.private_key = identity_->private_key;
    auto sock = std::atomic_load(&sock_);
    d.listen_port = sock ? sock->port() : 0;
    d.fwmark = fwmark_;
    std::vector<std::pair<PublicKey, std::shared_ptr<PeerEntry>>> all(by_key_.begin(), by_key_.end());
    all.insert(all.end(), own_key_.begin(), own_key_.end());
    for (auto& [key, pe] : all) {
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
