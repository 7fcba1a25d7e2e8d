// gateway.json: who this gateway is, how it reaches the controller, and its
// WireGuard side. Relative paths are relative to the file. docs/control-plane.md.
#pragma once

#include <string>

#include "ztna/result.h"

namespace ztna::gateway {

struct GatewayConfig {
    std::string gateway_id;        // as in the policy and controller.json
    std::string controller_url;    // https://host:port
    std::string controller_ca;     // PEM file: the controller CA (pinned)
    std::string token_file;        // gateway-ID.token (0600)
    std::string interface = "ztgw0";
    int listen_port = 51820;
    std::string private_key_file;  // base64 WireGuard private key (wg genkey), 0600
    std::string tunnel_address;    // the gateway's own address in the tunnel network, with its length: 100.64.0.1/16
};

Result<GatewayConfig> load_gateway_config(const std::string& path);

// The network of an address with its length: "100.64.0.1/16" -> "100.64.0.0/16".
Result<std::string> network_of(const std::string& address_with_length);

}  // namespace ztna::gateway
