// The Noise_IKpsk2 handshake of WireGuard (whitepaper 5.4.2 - 5.4.5), as
// functions of bytes, keys, time and randomness.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "env.h"
#include "messages.h"
#include "secret.h"
#include "tai64n.h"

namespace ztna::tunnel {

using HashValue = std::array<std::uint8_t, 32>;

struct StaticIdentity {
    Key private_key;
    PublicKey public_key{};
    static StaticIdentity from_private(const Key& private_key);
};

// Initiator state between sending an initiation and consuming its response.
struct InitiatorState {
    std::uint32_t local_index = 0;
    Key ephemeral_private;
    Key chaining_key;
    HashValue hash{};
};

// What a responder learns from a valid initiation.
struct ConsumedInitiation {
    PublicKey remote_static{};
    PublicKey remote_ephemeral{};
    Key chaining_key;
    HashValue hash{};
    std::uint32_t remote_index = 0;
    Tai64n timestamp{};
};

struct SessionKeys {
    Key send;
    Key recv;
    std::uint32_t local_index = 0;
    std::uint32_t remote_index = 0;
};

enum class HandshakeError { BadDh, BadStatic, BadTimestamp, BadEmpty };
const char* to_string(HandshakeError e);

// Writes msg (148 bytes, MACs left for the cookie generator).
InitiatorState create_initiation(std::span<std::uint8_t, spec::kInitiationSize> msg, const StaticIdentity& local,
                                 const PublicKey& remote_static, std::uint32_t local_index, Env& env);

// Anonymous: needs only the local identity; learns who the initiator is.
bool consume_initiation(ConsumedInitiation& out, HandshakeError& err, const InitiationMsg& msg,
                        const StaticIdentity& local);

// Writes msg (92 bytes, MACs left for the cookie generator) and derives the responder's keys.
bool create_response(SessionKeys& keys, std::span<std::uint8_t, spec::kResponseSize> msg, const ConsumedInitiation& init,
                     const Key& preshared_key, std::uint32_t local_index, Env& env);

bool consume_response(SessionKeys& keys, HandshakeError& err, const ResponseMsg& msg, const InitiatorState& state,
                      const StaticIdentity& local, const PublicKey& remote_static, const Key& preshared_key);

}  // namespace ztna::tunnel
