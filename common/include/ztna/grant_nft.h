// The nftables matches that let one grant's tunnel address reach exactly its
// app's prefixes, protocols and ports: one line per (address, port rule), e.g.
//   ip saddr 100.64.0.2 ip daddr 10.20.0.10/32 tcp dport 80
// Shared by the gateway's forward filter and the agent's output filter, so both
// ends enforce the same thing. A v4 tunnel address never matches a v6 app.
#pragma once

#include <string>
#include <vector>

#include "ztna/grant.h"

namespace ztna {

std::vector<std::string> nft_grant_matches(const Grant& g);

}  // namespace ztna
