// The agent's nftables table, rendered from its grants (pure text, tested
// without root). `inet ztna_agent`, replaced atomically by `nft -f`:
// packets leaving through the micro-tunnel interface may go only to a
// granted app's prefixes, protocols and ports, from that grant's tunnel
// address; everything else is counted and dropped before it is encrypted.
// Only an output hook: the table never filters the machine's other traffic
// and never looks like a host firewall to the posture checks.
#pragma once

#include <string>
#include <vector>

#include "ztna/grant.h"

namespace ztna::agent {

std::string render_agent_nft(const std::string& table, const std::string& ifname, const std::vector<Grant>& grants);
std::string render_agent_nft_teardown(const std::string& table);

}  // namespace ztna::agent
