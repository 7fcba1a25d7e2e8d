// The gateway's nftables ruleset, rendered from its grants (pure text, so
// it is tested without root). One table, `inet ztna_gateway`, replaced
// atomically by `nft -f` at every change:
// - every packet arriving from the tunnel interface goes through `grants`: a
//   grant's tunnel address may reach only its app's prefixes, protocols and
//   ports; everything else is counted and dropped before it reaches the
//   network, and nothing from the tunnel reaches the gateway host itself;
// - only replies (conntrack established/related) may enter the tunnel;
// - traffic from the tunnel network leaves masqueraded, so apps need no route back.
#pragma once

#include <string>
#include <vector>

#include "grant_set.h"

namespace ztna::gateway {

struct NftOptions {
    std::string table = "ztna_gateway";
    std::string tunnel_interface;   // "ztgw0"
    std::string tunnel_network;     // "100.64.0.0/16", masqueraded on the way out
};

std::string render_nft_ruleset(const NftOptions& o, const std::vector<GatewayGrant>& grants);
// Deletes the table (at shutdown): "delete table inet ztna_gateway".
std::string render_nft_teardown(const NftOptions& o);

}  // namespace ztna::gateway
