// The receive path shared by every embedder: parse, admit handshake messages
// through the Responder (MACs, cookies), find the peer (by public key for an
// initiation, by receiver index otherwise) and hand the message over.
#pragma once

#include "peer.h"
#include "responder.h"

namespace ztna::tunnel {

class PeerLookup {
public:
    virtual ~PeerLookup() = default;
    virtual Peer* by_public_key(const PublicKey& key) = 0;
    // The peer with this remote key that uses the local identity `to` (a
    // device may hold several peers of one remote key, each with its own local key).
    virtual Peer* by_public_key_for(const PublicKey& key, const StaticIdentity& to) {
        Peer* p = by_public_key(key);
        return p && (!p->identity() || p->identity()->public_key == to.public_key) ? p : nullptr;
    }
    virtual Peer* by_index(std::uint32_t receiver_index) = 0;
};

struct Received {
    TunnResult result;
    Peer* peer = nullptr;  // the peer it came from, once known
};

Received receive_datagram(Responder& responder, PeerLookup& peers, std::span<const std::uint8_t> datagram,
                          SourceAddr src, std::span<std::uint8_t> out, Env& env);

}  // namespace ztna::tunnel
