// Makes the gateway's WireGuard device and nftables table match its grants
// exactly: one peer per grant whose allowed IP is the grant's tunnel address,
// and the ruleset of nft_rules.h. Rules are applied before peers are added and
// after peers are removed are gone, so a peer never exists without its filter.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "grant_set.h"
#include "nft_rules.h"
#include "ztna/result.h"

namespace ztna::gateway {

struct PeerStats {
    std::int64_t last_handshake_sec = 0;
    std::uint64_t rx_bytes = 0, tx_bytes = 0;
};

// The device side, as UAPI text in and out (tunnel/io Device::handle_uapi).
using UapiCall = std::function<std::string(const std::string& request)>;
// Applies an nft script (`nft -f -`).
using NftApply = std::function<Result<void>(const std::string& script)>;

class Enforcer {
public:
    Enforcer(UapiCall uapi, NftApply nft, NftOptions options)
        : uapi_(std::move(uapi)), nft_(std::move(nft)), options_(std::move(options)) {}

    // Grants whose key another grant already uses are not enforced (listed in *refused).
    Result<void> apply(const std::vector<GatewayGrant>& grants, std::vector<std::string>* refused = nullptr);
    Result<void> teardown();
    // Per agent public key (base64), from the device.
    std::map<std::string, PeerStats> stats();

private:
    UapiCall uapi_;
    NftApply nft_;
    NftOptions options_;
};

// base64 WireGuard key -> the 64 hex digits the UAPI speaks, and back.
std::string key_to_hex(const std::string& b64);
std::string key_from_hex(const std::string& hex);

}  // namespace ztna::gateway
