// The gateway's view of its grants: what the controller said (a full list at
// start and after every reconnect, then added / renewed / removed events),
// minus whatever expired on the gateway's own clock. Pure logic: no sockets,
// no clock reads; the enforcer turns it into WireGuard peers and nftables rules.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ztna/grant.h"
#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::gateway {

using PortRule = ztna::PortRule;
using GatewayGrant = ztna::Grant;
using ztna::parse_grant;

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
