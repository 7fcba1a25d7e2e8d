// One WireGuard peer as a state machine: sessions (current, previous, next),
// the handshake in flight, cookies, the packets queued behind a handshake,
// and the timers of whitepaper section 6 expressed as deadlines. Bytes and
// time in, bytes out: no sockets, no clock reads, no threads, no allocation
// per packet (only packets queued behind a handshake are copied).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "cookie.h"
#include "env.h"
#include "handshake.h"
#include "messages.h"
#include "packet_cipher.h"
#include "replay_window.h"
#include "tunn_result.h"

namespace ztna::tunnel {

struct Session {
    std::uint32_t local_index = 0;
    std::uint32_t remote_index = 0;
    std::unique_ptr<PacketCipher> send;
    std::unique_ptr<PacketCipher> recv;
    std::uint64_t send_counter = 0;
    ReplayWindow replay;
    Duration created{};
    bool initiator = false;
};

class Peer {
public:
    // index_base (24 bits) makes this peer's session indices unique in a device:
    // every index it hands out is (index_base << 8) | n.
    Peer(std::shared_ptr<const StaticIdentity> local, const PublicKey& remote, const Key& preshared_key,
         std::uint32_t index_base, AeadBackend backend = kDefaultAeadBackend);

    static std::uint32_t index_base_of(std::uint32_t index) { return index >> 8; }

    const PublicKey& remote_public() const { return remote_; }
    // A new local identity invalidates every session and handshake.
    void set_identity(std::shared_ptr<const StaticIdentity> local);
    const StaticIdentity* identity() const { return local_.get(); }
    void set_preshared_key(const Key& psk) { psk_ = psk; }
    const Key& preshared_key() const { return psk_; }
    void set_persistent_keepalive(Duration interval, Duration now);
    Duration persistent_keepalive() const { return persistent_keepalive_; }
    // Payloads are padded to 16 bytes but never past the MTU (0: no cap).
    void set_mtu(std::size_t mtu) { mtu_ = mtu; }

    // An IP packet from the tunnel side. out must hold packet.size() + 48 bytes
    // (or 148 for a handshake initiation when no session is up).
    TunnResult encapsulate(std::span<const std::uint8_t> packet, std::span<std::uint8_t> out, Env& env);
    // A response, cookie reply or data message addressed to one of this peer's indices.
    // Handshake messages must have passed a Responder's admit() first.
    TunnResult decapsulate(const Message& msg, std::span<std::uint8_t> out, Env& env);
    // An initiation already consumed by a Responder whose remote_static is this peer.
    TunnResult handle_initiation(const ConsumedInitiation& init, std::span<std::uint8_t> out, Env& env);
    // Drain loop: after a handshake completes, call until it returns Done to send queued packets.
    TunnResult flush_queued(std::span<std::uint8_t> out, Env& env);
    // Timers: call until it returns Done; each call performs at most one action.
    TunnResult update_timers(std::span<std::uint8_t> out, Env& env);
    // Starts a handshake now (not rate limited to one per Rekey-Timeout).
    TunnResult force_handshake(std::span<std::uint8_t> out, Env& env);
    // Sends a keepalive now (as when persistent keepalive is switched on).
    TunnResult send_keepalive(std::span<std::uint8_t> out, Env& env) { return encapsulate({}, out, env); }

    const PeerStats& stats() const { return stats_; }
    bool has_session(Duration now) const { return usable(current_.get(), now); }
    std::size_t queued() const { return queue_.size(); }
    // The earliest time update_timers has something to do (nullopt: nothing armed).
    std::optional<Duration> next_deadline() const;

private:
    bool usable(const Session* s, Duration now) const;
    std::uint32_t next_index();
    Session* session_for(std::uint32_t local_index);
    std::unique_ptr<Session> make_session(const SessionKeys& keys, bool initiator, Duration now);
    TunnResult initiate(std::span<std::uint8_t> out, Env& env, bool retry);
    TunnResult seal(Session& s, std::span<const std::uint8_t> packet, std::span<std::uint8_t> out, Env& env);
    TunnResult on_data(const DataMsg& m, std::span<std::uint8_t> out, Env& env);
    TunnResult on_response(const ResponseMsg& m, std::span<std::uint8_t> out, Env& env);
    TunnResult dropped(DropReason r);
    void enqueue(std::span<const std::uint8_t> packet);
    void on_authenticated_sent(Env& env);
    void on_authenticated_received(Env& env);
    void zero_keys();

    std::shared_ptr<const StaticIdentity> local_;
    PublicKey remote_{};
    Key psk_;
    std::uint32_t index_base_;
    std::uint8_t index_counter_ = 0;
    AeadBackend backend_;
    CookieGenerator cookies_;
    std::size_t mtu_ = 0;

    std::unique_ptr<Session> current_, previous_, next_;
    std::optional<InitiatorState> handshake_;
    std::optional<Duration> last_initiation_sent_;
    std::optional<Duration> last_initiation_received_;
    Tai64n last_timestamp_{};
    std::deque<std::vector<std::uint8_t>> queue_;

    // Timers (wireguard-go names): an engaged optional is an armed deadline.
    std::optional<Duration> retransmit_handshake_, send_keepalive_, new_handshake_, zero_key_material_,
        persistent_keepalive_at_;
    bool need_another_keepalive_ = false;
    bool want_handshake_ = false;  // key freshness asked for a new handshake; sent by update_timers
    Duration persistent_keepalive_{0};
    std::uint32_t attempts_ = 0;

    PeerStats stats_;
};

}  // namespace ztna::tunnel
