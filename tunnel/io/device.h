// A WireGuard interface: one TUN device, one UDP socket, many peers routed by
// allowed IPs, configured through the UAPI. Three threads: the encryption
// path (TUN -> peers -> UDP), the decryption path (UDP -> peers -> TUN) and
// the timers; each takes one core, so both directions use the machine.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <ztna/result.h>

#include "allowed_ips.h"
#include "dispatch.h"
#include "tun.h"
#include "uapi_codec.h"
#include "udp.h"

namespace ztna::tunnel::io {

struct DeviceCounters {
    std::atomic<std::uint64_t> no_route{0};      // TUN packet to an address no peer allows
    std::atomic<std::uint64_t> no_endpoint{0};   // peer has no known endpoint yet
    std::atomic<std::uint64_t> bad_source{0};    // decrypted packet from an address the peer may not use
    std::atomic<std::uint64_t> unknown_index{0};
    std::atomic<std::uint64_t> malformed{0};
    std::atomic<std::uint64_t> send_errors{0};       // datagrams the UDP socket refused
    std::atomic<std::uint64_t> tun_write_errors{0};  // packets the TUN device refused (full queue, bad GSO)
    std::atomic<std::uint64_t> bad_offload{0};       // TUN super-packets or partial checksums that were malformed
};

class Device {
public:
    struct Options {
        std::string ifname;
        int mtu = 1420;
    };
    static Result<std::unique_ptr<Device>> create(const Options& opts);
    // Over a given packet device: a real TUN, or a test double (Tun::adopt).
    static Result<std::unique_ptr<Device>> create(std::unique_ptr<Tun> tun, int mtu);
    ~Device();

    void start();
    void stop();
    // True once the TUN device went away (deleted by an admin): time to exit.
    bool dead() const { return dead_.load(); }
    const std::string& name() const { return tun_->name(); }

    // One UAPI request (without its blank line) in, the whole answer out.
    // On failure, *why (if given) says what was wrong; it never holds a key.
    std::string handle_uapi(std::string_view request, std::string* why = nullptr);

    const DeviceCounters& counters() const { return counters_; }

    // A peer with its own local key instead of the interface's: the agent's
    // per-grant keys, so each grant is its own WireGuard identity at the
    // gateway, even when several grants share one gateway (one remote key).
    // Outside the UAPI's set side (wg cannot change them); `wg show` lists them.
    struct OwnKeyPeer {
        Key local_private;
        PublicKey remote{};
        Endpoint endpoint;
        std::vector<IpPrefix> allowed_ips;
        std::uint16_t persistent_keepalive_s = 0;
    };
    // Returns the peer's id, for remove_own_key_peer.
    Result<std::uint32_t> add_own_key_peer(const OwnKeyPeer& p);
    void remove_own_key_peer(std::uint32_t id);
    struct PeerCounters {
        std::int64_t last_handshake_sec = 0;
        std::uint64_t rx_bytes = 0, tx_bytes = 0;
    };
    std::optional<PeerCounters> peer_counters(std::uint32_t id);
    // Sends a fresh handshake initiation to a peer with its own key now, instead
    // of after the 5 s retransmission timeout: for a new grant whose gateway may
    // have added its side a moment after our first initiation arrived.
    void force_handshake(std::uint32_t id);

private:
    struct PeerEntry {
        std::mutex mu;
        std::atomic<std::uint64_t> tx_sent{0};  // datagram bytes the socket accepted (what wg shows)
        std::unique_ptr<Peer> peer;
        std::shared_ptr<const StaticIdentity> own_identity;  // set_peer_identity; null: the interface's
        std::optional<Endpoint> endpoint;
        SockAddr dest;
        std::uint32_t id = 0;
    };

    explicit Device(std::unique_ptr<Tun> tun);
    Env env(Rng& rng) const;

    struct ReceiveContext;
    void encrypt_loop();
    void decrypt_loop();
    void receive_one(std::uint8_t* dgram, std::size_t len, const Endpoint& src, Env& e, ReceiveContext& ctx);
    void timer_loop();

    Result<void> apply(const UapiSet& set, int& err);
    UapiDeviceGet snapshot();
    void set_endpoint(PeerEntry& e, const Endpoint& ep);
    void send_to(PeerEntry& e, const std::uint8_t* data, std::size_t n);
    bool send_raw(const SockAddr& to, const std::uint8_t* data, std::size_t n);
    void wake();
    std::uint32_t new_peer_id(Rng& rng);
    void refresh_extra_identities();  // config_mu_ held exclusively

    std::unique_ptr<Tun> tun_;
    std::shared_ptr<UdpSocket> sock_;  // replaced on listen_port change; readers hold a copy
    std::uint32_t fwmark_ = 0;

    mutable std::shared_mutex config_mu_;  // peers, allowed IPs, identity, socket
    std::shared_ptr<const StaticIdentity> identity_;
    std::unique_ptr<Responder> responder_;
    std::mutex responder_mu_;
    std::map<PublicKey, std::shared_ptr<PeerEntry>> by_key_;             // the interface's identity (UAPI)
    std::multimap<PublicKey, std::shared_ptr<PeerEntry>> own_key_;       // add_own_key_peer
    std::unordered_map<std::uint32_t, std::shared_ptr<PeerEntry>> by_id_;
    AllowedIps allowed_;
    std::atomic<int> mtu_{1420};

    int wake_fd_ = -1;  // eventfd: wakes the decryption thread when the socket changes or on stop
    std::atomic<bool> running_{false};
    std::atomic<bool> dead_{false};
    std::thread enc_, dec_, timers_;
    DeviceCounters counters_;
};

}  // namespace ztna::tunnel::io
