#include "dispatch.h"

namespace ztna::tunnel {

Received receive_datagram(Responder& responder, PeerLookup& peers, std::span<const std::uint8_t> datagram,
                          SourceAddr src, std::span<std::uint8_t> out, Env& env) {
    const Message msg = parse(datagram);
    if (auto* e = std::get_if<ParseError>(&msg)) {
        (void)e;
        responder.count(DropReason::Malformed);
        return {TunnResult::drop(DropReason::Malformed), nullptr};
    }
    if (auto* init = std::get_if<InitiationMsg>(&msg)) {
        const StaticIdentity* to = nullptr;
        TunnResult gate = responder.admit(msg, src, out, env, &to);
        if (gate.op != Op::Done) return {gate, nullptr};
        HandshakeError err{};
        auto consumed = responder.consume(*init, err, to);
        if (!consumed) {
            responder.count(DropReason::BadHandshake);
            return {TunnResult::drop(DropReason::BadHandshake), nullptr};
        }
        // The peer must use the identity the initiation was addressed to.
        Peer* p = to ? peers.by_public_key_for(consumed->remote_static, *to) : peers.by_public_key(consumed->remote_static);
        if (!p) {
            responder.count(DropReason::UnknownPeer);
            return {TunnResult::drop(DropReason::UnknownPeer), nullptr};
        }
        return {p->handle_initiation(*consumed, out, env), p};
    }
    if (std::holds_alternative<ResponseMsg>(msg)) {
        TunnResult gate = responder.admit(msg, src, out, env);
        if (gate.op != Op::Done) return {gate, nullptr};
    }
    Peer* p = peers.by_index(receiver_index(msg));
    if (!p) {
        responder.count(DropReason::UnknownIndex);
        return {TunnResult::drop(DropReason::UnknownIndex), nullptr};
    }
    return {p->decapsulate(msg, out, env), p};
}

}  // namespace ztna::tunnel
