// The gateway's view of its grants: what the controller said (a full list at
// start and after every reconnect, then added / renewed / removed events),
// minus whatever expired on the gateway's own clock. Pure logic: no sockets,
// no clock reads; the enforcer turns it into WireGuard peers and nftables rules.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::gateway {

struct PortRule {
    std::string protocol;  // tcp, udp, icmp
    int first = 0, last = 0;
};

struct GatewayGrant {
    std::string id;
    std::string app;
    std::string user, device_id;
    std::string agent_public_key;  // base64
    std::string tunnel_address;    // "100.64.0.2/32": the only source this peer may use
    std::vector<std::string> addresses;  // the app's prefixes: the only destinations
    std::vector<PortRule> ports;
    std::int64_t expires_at = 0;
};

// Parses one grant of the protocol (docs/protocol.md, "Grants"), strictly:
// a grant that cannot be enforced exactly is refused, never widened.
Result<GatewayGrant> parse_grant(const json::Value& v);

class GrantSet {
public:
    // Replaces everything with the controller's full list (resync). Grants
    // that fail to parse are skipped and reported in *skipped.
    void replace(const std::vector<GatewayGrant>& grants);
    void upsert(const GatewayGrant& g);
    bool remove(const std::string& id);
    // Drops every grant whose expires_at <= now; returns their ids.
    std::vector<std::string> expire(std::int64_t now);

    const std::map<std::string, GatewayGrant>& grants() const { return grants_; }

private:
    std::map<std::string, GatewayGrant> grants_;
};

}  // namespace ztna::gateway
