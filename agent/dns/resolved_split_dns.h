// Split DNS with systemd-resolved: registers the agent's DNS stub as the
// resolver of the apps' names on the agent's interface, and of nothing else.
// The machine's other links, their DNS servers and the default route are left
// alone, so an existing VPN's DNS goes on working beside the agent.
//
// What it asks resolved for (through `resolvectl`, on the system bus):
//   dns IF STUB            the stub (127.0.0.153, or ADDR:PORT) serves the link
//   domain IF ~name ...    routing-only domains: exactly the apps' names (and
//                          names under them); no search domains
//   default-route IF false the link never gets other queries
//   llmnr IF no, mdns IF no
// and gives the interface the address 169.254.53.53/32: resolved uses a link's
// DNS servers only while the link has an address of global scope, and ztna0 has
// none while no grant is open. Without it, the apps' names would go to the
// other resolvers then (a blocked app's name answered by another VPN's DNS).
// The address is link-local space, never routed; the agent's routes name their
// own source address, so nothing is sent from it.
// resolved forgets the link's settings when the interface goes away (agent stop).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::agent::dns {

class ResolvedSplitDns {
public:
    static constexpr const char* kLinkAddress = "169.254.53.53";

    // stub_address/stub_port: where the DNS stub listens. runtime_dir: resolved's
    // runtime directory, whose presence says resolved runs on this machine.
    ResolvedSplitDns(std::string ifname, const std::string& stub_address, std::uint16_t stub_port,
                     std::string runtime_dir = "/run/systemd/resolve");

    bool resolved_present() const;
    // Routes exactly these names to the stub (lowercase, no trailing dot; duplicates
    // and invalid names are dropped) and says how many are routed. Same names as
    // last time: nothing to do. No names: the previous ones stay routed (signed
    // out, the stub refuses them rather than letting them go to another
    // resolver). resolved absent: error "resolved_absent", which says what to do
    // instead. Call it from one thread at a time (the agent's worker).
    Result<std::size_t> route(std::vector<std::string> names);
    // For `ztnactl status`: {"mode": "systemd-resolved"|"manual", "stub": ...,
    // "routed_names": [...], "error": ...}.
    json::Value describe() const;

    // "127.0.0.153", "127.0.0.153:5353", "[::1]:5353": resolvectl's server syntax.
    static std::string server_text(const std::string& address, std::uint16_t port);

private:
    std::string ifname_, server_, runtime_dir_;
    mutable std::mutex mu_;
    std::vector<std::string> routed_;
    std::string error_;
};

}  // namespace ztna::agent::dns
