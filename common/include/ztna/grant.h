// A grant as the protocol carries it (docs/protocol.md, "Grants"), parsed
// strictly: a grant that cannot be enforced exactly is refused, never
// widened. Shared by the gateway (its peers and filter) and the agent (its
// micro-tunnels).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna {

struct PortRule {
    std::string protocol;  // tcp, udp, icmp
    int first = 0, last = 0;
};

struct Grant {
    std::string id;
    std::string app;
    std::string user, device_id;
    std::string agent_public_key;  // base64
    std::string tunnel_address;    // "100.64.0.2/32": the only source this peer may use
    std::vector<std::string> addresses;  // the app's prefixes: the only destinations
    std::vector<PortRule> ports;
    std::int64_t expires_at = 0;
    std::vector<std::string> dns;  // the app's names
    // The gateway (the agent's side needs it; the gateway's own list leaves it out).
    std::string gateway_id, gateway_endpoint, gateway_public_key;
};

// Parses one grant of the protocol (docs/protocol.md, "Grants"), strictly:
// a grant that cannot be enforced exactly is refused, never widened.
Result<Grant> parse_grant(const json::Value& v);

}  // namespace ztna
