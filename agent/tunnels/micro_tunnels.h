// The agent's micro-tunnels: one TUN device (ztna0, tunnel/io), and for each
// grant one WireGuard peer with the grant's own fresh key pair, whose allowed
// IPs are exactly the app's addresses; a route per app address with the
// grant's tunnel address as source; and the nftables table of
// agent_nft_rules.h. Nothing else on the machine is touched: no default
// route, no other interface, no other DNS. `wg show ztna0` reads it
// (public keys only: the UAPI socket refuses set and hides private keys).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "secret.h"
#include "ztna/grant.h"
#include "ztna/result.h"

namespace ztna::tunnel::io {
class Device;
class UapiServer;
}  // namespace ztna::tunnel::io

namespace ztna::agent {

// A grant's key pair, made before the grant is asked for: the public half
// goes to the controller, the private half only into the device.
struct GrantKey {
    tunnel::Key private_key;
    std::string public_b64;
};

struct TunnelStats {
    std::int64_t last_handshake_sec = 0;
    std::uint64_t rx_bytes = 0, tx_bytes = 0;
};

class MicroTunnels {
public:
    static Result<std::unique_ptr<MicroTunnels>> open(const std::string& ifname);
    ~MicroTunnels();  // removes peers, routes, the table and the device

    static GrantKey new_key();
    // Opens the grant's tunnel; a grant already open under the same id is replaced.
    Result<void> open_grant(const Grant& g, const GrantKey& key);
    // Closes one grant's tunnel (its peer, routes, address, rules) and nothing else.
    Result<void> close_grant(const std::string& grant_id);
    void close_all();
    std::vector<std::string> open_ids();
    std::map<std::string, TunnelStats> stats();  // by grant id
    // New tunnels whose first handshake has not completed get a fresh initiation
    // (at most once a second, for their first 10 s): the gateway may add its
    // peer a moment after our first initiation. Call about every 250 ms.
    void nudge_new(std::int64_t now_ms);
    const std::string& name() const { return ifname_; }
    std::string uapi_problem;  // why `wg show` cannot read this interface (empty: it can)
    bool dead() const;

private:
    MicroTunnels() = default;
    struct Open {
        Grant grant;
        std::uint32_t peer_id = 0;
        std::string public_b64;
        std::int64_t opened_ms = -1, nudged_ms = 0;
    };
    Result<void> apply_rules();
    void remove_routes(const Open& o);

    std::mutex mu_;
    std::string ifname_;
    std::unique_ptr<tunnel::io::Device> dev_;
    std::unique_ptr<tunnel::io::UapiServer> uapi_;
    std::map<std::string, Open> open_;
};

}  // namespace ztna::agent
