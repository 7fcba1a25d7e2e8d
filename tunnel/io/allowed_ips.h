// Allowed IPs: longest-prefix match from an address to a peer, one binary
// trie per address family. Used both ways: the peer to send an outgoing
// packet to, and the check that a decrypted packet's source belongs to the
// peer it came from (cryptokey routing, whitepaper section 2).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ip_prefix.h"

namespace ztna::tunnel::io {

class AllowedIps {
public:
    using PeerId = std::uint32_t;  // 0 = none
    AllowedIps();
    ~AllowedIps();
    AllowedIps(const AllowedIps&) = delete;
    AllowedIps& operator=(const AllowedIps&) = delete;

    // A prefix belongs to one peer: inserting it for another peer moves it.
    void insert(const IpPrefix& prefix, PeerId peer);
    void remove_peer(PeerId peer);
    PeerId lookup(const IpAddr& addr) const;
    std::vector<IpPrefix> prefixes_of(PeerId peer) const;
    void clear();

private:
    struct Node;
    std::unique_ptr<Node> root4_, root6_;
};

}  // namespace ztna::tunnel::io
