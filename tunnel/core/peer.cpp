#include "peer.h"

#include <algorithm>
#include <cstring>

namespace ztna::tunnel {

namespace {
// Inner packet check: a whole IPv4 or IPv6 packet; returns its length, 0 if not.
std::size_t ip_packet_length(std::span<const std::uint8_t> p, Op& op) {
    if (p.empty()) return 0;
    const unsigned version = p[0] >> 4;
    if (version == 4 && p.size() >= 20) {
        const std::size_t total = std::size_t(p[2]) << 8 | p[3];
        const std::size_t ihl = std::size_t(p[0] & 0x0f) * 4;
        if (total < 20 || ihl < 20 || ihl > total || total > p.size()) return 0;
        op = Op::WriteToTunnelV4;
        return total;
    }
    if (version == 6 && p.size() >= 40) {
        const std::size_t total = 40 + (std::size_t(p[4]) << 8 | p[5]);
        if (total > p.size()) return 0;
        op = Op::WriteToTunnelV6;
        return total;
    }
    return 0;
}

Duration jitter(Rng& rng) {
    return Duration(std::int64_t(rng.next_u32() % std::uint32_t(spec::kRekeyTimeoutJitterMax.count() / 1000)) * 1000);
}

bool due(const std::optional<Duration>& t, Duration now) { return t && now >= *t; }
}  // namespace

const char* to_string(DropReason r) {
    switch (r) {
        case DropReason::None: return "none";
        case DropReason::Malformed: return "malformed";
        case DropReason::BadMac1: return "bad_mac1";
        case DropReason::CookieSent: return "cookie_sent";
        case DropReason::BadHandshake: return "bad_handshake";
        case DropReason::UnknownPeer: return "unknown_peer";
        case DropReason::StaleTimestamp: return "stale_timestamp";
        case DropReason::InitiationFlood: return "initiation_flood";
        case DropReason::UnexpectedResponse: return "unexpected_response";
        case DropReason::BadCookieReply: return "bad_cookie_reply";
        case DropReason::UnknownIndex: return "unknown_index";
        case DropReason::ExpiredSession: return "expired_session";
        case DropReason::Replayed: return "replayed";
        case DropReason::DecryptFailed: return "decrypt_failed";
        case DropReason::BadInnerPacket: return "bad_inner_packet";
        case DropReason::TooLarge: return "too_large";
        case DropReason::BufferTooSmall: return "buffer_too_small";
        case DropReason::QueueFull: return "queue_full";
        case DropReason::NoIdentity: return "no_identity";
        case DropReason::Count_: break;
    }
    return "unknown";
}

Peer::Peer(std::shared_ptr<const StaticIdentity> local, const PublicKey& remote, const Key& psk,
           std::uint32_t index_base, AeadBackend backend)
    : local_(std::move(local)), remote_(remote), psk_(psk), index_base_(index_base & 0xffffff), backend_(backend),
      cookies_(remote) {}

void Peer::set_identity(std::shared_ptr<const StaticIdentity> local) {
    local_ = std::move(local);
    current_.reset();
    previous_.reset();
    next_.reset();
    handshake_.reset();
    retransmit_handshake_.reset();
    last_initiation_sent_.reset();  // the next packet may start a handshake at once
    if (!queue_.empty()) want_handshake_ = true;
}

void Peer::set_persistent_keepalive(Duration interval, Duration now) {
    persistent_keepalive_ = interval;
    if (interval.count() > 0)
        persistent_keepalive_at_ = now + interval;
    else
        persistent_keepalive_at_.reset();
}

bool Peer::usable(const Session* s, Duration now) const {
    return s && now - s->created < spec::kRejectAfterTime && s->send_counter < spec::kRejectAfterMessages;
}

std::uint32_t Peer::next_index() {
    for (;;) {
        const std::uint32_t idx = index_base_ << 8 | ++index_counter_;
        if (!session_for(idx) && !(handshake_ && handshake_->local_index == idx)) return idx;
    }
}

Session* Peer::session_for(std::uint32_t idx) {
    for (auto* s : {current_.get(), next_.get(), previous_.get()})
        if (s && s->local_index == idx) return s;
    return nullptr;
}

std::unique_ptr<Session> Peer::make_session(const SessionKeys& keys, bool initiator, Duration now) {
    auto s = std::make_unique<Session>();
    s->local_index = keys.local_index;
    s->remote_index = keys.remote_index;
    s->send = make_packet_cipher(backend_, keys.send);
    s->recv = make_packet_cipher(backend_, keys.recv);
    s->created = now;
    s->initiator = initiator;
    return s;
}

TunnResult Peer::dropped(DropReason r) {
    ++stats_.drops[std::size_t(r)];
    return TunnResult::drop(r);
}

void Peer::on_authenticated_sent(Env& env) {
    send_keepalive_.reset();
    if (persistent_keepalive_.count() > 0) persistent_keepalive_at_ = env.now + persistent_keepalive_;
}

void Peer::on_authenticated_received(Env& env) {
    new_handshake_.reset();
    if (persistent_keepalive_.count() > 0) persistent_keepalive_at_ = env.now + persistent_keepalive_;
}

void Peer::zero_keys() {
    current_.reset();
    previous_.reset();
    next_.reset();
    handshake_.reset();
    queue_.clear();
}

TunnResult Peer::initiate(std::span<std::uint8_t> out, Env& env, bool retry) {
    if (!local_) return dropped(DropReason::NoIdentity);
    if (!retry) {
        if (last_initiation_sent_ && env.now - *last_initiation_sent_ < spec::kRekeyTimeout) return TunnResult::done();
        attempts_ = 0;
    }
    if (out.size() < spec::kInitiationSize) return dropped(DropReason::BufferTooSmall);
    auto msg = out.first<spec::kInitiationSize>();
    handshake_ = create_initiation(msg, *local_, remote_, next_index(), env);
    cookies_.add_macs(msg, env.now);
    last_initiation_sent_ = env.now;
    retransmit_handshake_ = env.now + spec::kRekeyTimeout + jitter(env.rng);
    stats_.tx_bytes += spec::kInitiationSize;
    stats_.handshake_attempts = attempts_ + 1;
    on_authenticated_sent(env);
    return TunnResult::network(spec::kInitiationSize);
}

TunnResult Peer::force_handshake(std::span<std::uint8_t> out, Env& env) { return initiate(out, env, true); }

TunnResult Peer::seal(Session& s, std::span<const std::uint8_t> packet, std::span<std::uint8_t> out, Env& env) {
    std::size_t padded = (packet.size() + spec::kPaddingMultiple - 1) & ~(spec::kPaddingMultiple - 1);
    if (mtu_ && padded > mtu_) padded = std::max(packet.size(), mtu_);
    const std::size_t total = spec::kDataHeaderSize + padded + spec::kTagSize;
    if (out.size() < total) return dropped(DropReason::BufferTooSmall);
    std::uint8_t* p = out.data();
    store_le32(p, spec::kTypeData);
    store_le32(p + layout::data::kReceiver, s.remote_index);
    const std::uint64_t counter = s.send_counter++;
    store_le64(p + layout::data::kCounter, counter);
    std::uint8_t* payload = p + layout::data::kPayload;
    if (!packet.empty() && packet.data() != payload) std::memmove(payload, packet.data(), packet.size());
    std::memset(payload + packet.size(), 0, padded - packet.size());
    s.send->seal(payload, counter, payload, padded);
    stats_.tx_bytes += total;

    on_authenticated_sent(env);
    if (!packet.empty() && !new_handshake_) new_handshake_ = env.now + spec::kKeepaliveTimeout + spec::kRekeyTimeout;
    // Keep the key fresh (whitepaper 6.2): the initiator rekeys after time, either side after messages.
    if (s.send_counter >= spec::kRekeyAfterMessages || (s.initiator && env.now - s.created >= spec::kRekeyAfterTime))
        want_handshake_ = true;
    return TunnResult::network(total);
}

void Peer::enqueue(std::span<const std::uint8_t> packet) {
    if (queue_.size() >= limits::kMaxQueuedPackets) {
        queue_.pop_front();
        ++stats_.drops[std::size_t(DropReason::QueueFull)];
    }
    queue_.emplace_back(packet.begin(), packet.end());
}

TunnResult Peer::encapsulate(std::span<const std::uint8_t> packet, std::span<std::uint8_t> out, Env& env) {
    if (packet.size() > limits::kMaxPacketSize) return dropped(DropReason::TooLarge);
    if (usable(current_.get(), env.now)) {
        if (queue_.empty()) return seal(*current_, packet, out, env);
        // Packets are still queued from before the session: keep their order.
        enqueue(packet);
        return flush_queued(out, env);
    }
    // No session: hold the packet and start a handshake.
    enqueue(packet);
    return initiate(out, env, false);
}

TunnResult Peer::flush_queued(std::span<std::uint8_t> out, Env& env) {
    if (queue_.empty() || !usable(current_.get(), env.now)) return TunnResult::done();
    auto pkt = std::move(queue_.front());
    queue_.pop_front();
    return seal(*current_, pkt, out, env);
}

TunnResult Peer::decapsulate(const Message& msg, std::span<std::uint8_t> out, Env& env) {
    if (auto* d = std::get_if<DataMsg>(&msg)) return on_data(*d, out, env);
    if (auto* r = std::get_if<ResponseMsg>(&msg)) return on_response(*r, out, env);
    if (auto* c = std::get_if<CookieReplyMsg>(&msg)) {
        // A reply to our initiation, or to our response (the session we offered in next_).
        const bool ours = (handshake_ && c->receiver() == handshake_->local_index) ||
                          (next_ && c->receiver() == next_->local_index);
        if (!ours) return dropped(DropReason::UnexpectedResponse);
        if (!cookies_.consume_reply(*c, env.now)) return dropped(DropReason::BadCookieReply);
        return TunnResult::done();
    }
    return dropped(DropReason::Malformed);
}

TunnResult Peer::on_data(const DataMsg& m, std::span<std::uint8_t> out, Env& env) {
    Session* s = session_for(m.receiver());
    if (!s) return dropped(DropReason::UnknownIndex);
    if (env.now - s->created >= spec::kRejectAfterTime) return dropped(DropReason::ExpiredSession);
    const std::uint64_t counter = m.counter();
    if (!s->replay.may_accept(counter)) return dropped(DropReason::Replayed);
    const auto ct = m.ciphertext();
    const std::size_t plain = ct.size() - spec::kTagSize;
    if (out.size() < plain) return dropped(DropReason::BufferTooSmall);
    if (!s->recv->open(out.data(), counter, ct.data(), ct.size())) return dropped(DropReason::DecryptFailed);
    if (!s->replay.accept(counter)) return dropped(DropReason::Replayed);

    stats_.rx_bytes += m.bytes.size();
    on_authenticated_received(env);
    if (s == next_.get()) {
        // The initiator used the session we offered: it is confirmed (whitepaper 5.4.6).
        previous_ = std::move(current_);
        current_ = std::move(next_);
        retransmit_handshake_.reset();
        attempts_ = 0;
        stats_.last_handshake = env.wall;
    }
    if (current_ && current_->initiator &&
        env.now - current_->created >= spec::kRejectAfterTime - spec::kKeepaliveTimeout - spec::kRekeyTimeout &&
        !(last_initiation_sent_ && env.now - *last_initiation_sent_ < spec::kRekeyTimeout))
        want_handshake_ = true;

    if (plain == 0) return TunnResult::done(true);  // keepalive
    if (!send_keepalive_)
        send_keepalive_ = env.now + spec::kKeepaliveTimeout;
    else
        need_another_keepalive_ = true;

    Op op = Op::Done;
    const std::size_t len = ip_packet_length(out.first(plain), op);
    if (len == 0) return dropped(DropReason::BadInnerPacket);
    return {op, len, DropReason::None, true};
}

TunnResult Peer::on_response(const ResponseMsg& m, std::span<std::uint8_t> out, Env& env) {
    if (!handshake_ || m.receiver() != handshake_->local_index || !local_)
        return dropped(DropReason::UnexpectedResponse);
    SessionKeys keys;
    HandshakeError err{};
    if (!consume_response(keys, err, m, *handshake_, *local_, remote_, psk_)) return dropped(DropReason::BadHandshake);
    handshake_.reset();
    auto s = make_session(keys, true, env.now);
    if (next_)
        previous_ = std::move(next_);
    else
        previous_ = std::move(current_);
    current_ = std::move(s);
    retransmit_handshake_.reset();
    attempts_ = 0;
    stats_.last_handshake = env.wall;
    stats_.rx_bytes += spec::kResponseSize;
    zero_key_material_ = env.now + 3 * spec::kRejectAfterTime;
    on_authenticated_received(env);
    // Confirm the session to the responder: the first queued packet, or a keepalive.
    TunnResult r = flush_queued(out, env);
    if (r.op == Op::Done) r = seal(*current_, {}, out, env);
    r.authenticated = true;
    return r;
}

TunnResult Peer::handle_initiation(const ConsumedInitiation& init, std::span<std::uint8_t> out, Env& env) {
    if (!local_) return dropped(DropReason::NoIdentity);
    if (!ct_equal<32>(init.remote_static, remote_)) return dropped(DropReason::UnknownPeer);
    if (!tai64n_after(init.timestamp, last_timestamp_)) return dropped(DropReason::StaleTimestamp);
    if (last_initiation_received_ && env.now - *last_initiation_received_ < limits::kInitiationMinInterval)
        return dropped(DropReason::InitiationFlood);
    if (out.size() < spec::kResponseSize) return dropped(DropReason::BufferTooSmall);
    auto msg = out.first<spec::kResponseSize>();
    SessionKeys keys;
    if (!create_response(keys, msg, init, psk_, next_index(), env)) return dropped(DropReason::BadHandshake);
    last_timestamp_ = init.timestamp;
    last_initiation_received_ = env.now;
    cookies_.add_macs(msg, env.now);
    next_ = make_session(keys, false, env.now);
    previous_.reset();
    stats_.rx_bytes += spec::kInitiationSize;
    stats_.tx_bytes += spec::kResponseSize;
    zero_key_material_ = env.now + 3 * spec::kRejectAfterTime;
    on_authenticated_received(env);
    on_authenticated_sent(env);
    return TunnResult::network(spec::kResponseSize, true);
}

TunnResult Peer::update_timers(std::span<std::uint8_t> out, Env& env) {
    const Duration now = env.now;
    if (!queue_.empty() && usable(current_.get(), now)) return flush_queued(out, env);
    if (due(zero_key_material_, now)) {
        zero_key_material_.reset();
        zero_keys();
    }
    if (want_handshake_) {
        want_handshake_ = false;
        TunnResult r = initiate(out, env, false);
        if (r.op != Op::Done) return r;
    }
    if (due(retransmit_handshake_, now)) {
        retransmit_handshake_.reset();
        if (attempts_ > std::uint32_t(limits::kMaxHandshakeAttempts)) {
            // Give up (whitepaper 6.4): forget the queue and the attempt; zero keys later.
            send_keepalive_.reset();
            queue_.clear();
            handshake_.reset();
            if (!zero_key_material_) zero_key_material_ = now + 3 * spec::kRejectAfterTime;
        } else {
            ++attempts_;
            return initiate(out, env, true);
        }
    }
    if (due(send_keepalive_, now)) {
        send_keepalive_.reset();
        TunnResult r = send_keepalive(out, env);
        if (need_another_keepalive_) {
            need_another_keepalive_ = false;
            send_keepalive_ = now + spec::kKeepaliveTimeout;
        }
        if (r.op != Op::Done) return r;
    }
    if (due(new_handshake_, now)) {
        // Sent data but heard nothing for Keepalive-Timeout + Rekey-Timeout.
        new_handshake_.reset();
        TunnResult r = initiate(out, env, false);
        if (r.op != Op::Done) return r;
    }
    if (due(persistent_keepalive_at_, now)) {
        persistent_keepalive_at_.reset();
        TunnResult r = send_keepalive(out, env);  // sending re-arms it (on_authenticated_sent)
        if (r.op != Op::Done) return r;
    }
    return TunnResult::done();
}

std::optional<Duration> Peer::next_deadline() const {
    std::optional<Duration> best;
    for (const auto& t : {retransmit_handshake_, send_keepalive_, new_handshake_, zero_key_material_,
                          persistent_keepalive_at_})
        if (t && (!best || *t < *best)) best = t;
    return best;
}

}  // namespace ztna::tunnel
