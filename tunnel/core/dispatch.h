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
    virtual Peer* by_index(std::uint32_t receiver_index) = 0;
};

struct Received {
    TunnResult result;
    Peer* peer = nullptr;  // the peer it came from, once known
};

Received receive_datagram(Responder& responder, PeerLookup& peers, std::span<const std::uint8_t> datagram,
                          SourceAddr src, std::span<std::uint8_t> out, Env& env);

}  // namespace ztna::tunnel
