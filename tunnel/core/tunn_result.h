// What each entry point of the core asks its caller to do next, and why a
// datagram or packet was dropped (every drop is counted, never logged).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ztna::tunnel {

enum class Op : std::uint8_t {
    Done,             // nothing to send
    WriteToNetwork,   // send out[0..size) to the peer's endpoint
    WriteToTunnelV4,  // write out[0..size) to the TUN device (an IPv4 packet)
    WriteToTunnelV6,  // write out[0..size) to the TUN device (an IPv6 packet)
    Drop,             // the input was dropped; see reason
};

enum class DropReason : std::uint8_t {
    None,
    Malformed,           // failed parse(): wrong type, length or reserved bytes
    BadMac1,             // handshake message whose mac1 is wrong
    CookieSent,          // under load without a valid mac2: answered with a cookie reply
    BadHandshake,        // handshake message that does not decrypt
    UnknownPeer,         // initiation from a public key that is not configured
    StaleTimestamp,      // initiation not newer than the last one (replay)
    InitiationFlood,     // initiations from one peer faster than 50 per second
    UnexpectedResponse,  // response or cookie reply with no matching handshake in flight
    BadCookieReply,      // cookie reply that does not decrypt
    UnknownIndex,        // data for a session that does not exist (any more)
    ExpiredSession,      // data for a session older than Reject-After-Time
    Replayed,            // counter already seen or too far behind
    DecryptFailed,       // data that does not authenticate
    BadInnerPacket,      // decrypted payload is not a whole IPv4/IPv6 packet
    TooLarge,            // IP packet larger than the implementation's limit
    BufferTooSmall,      // caller's output buffer cannot hold the result
    QueueFull,           // packet queued behind a handshake pushed out an older one
    NoIdentity,          // no private key configured
    Count_
};
inline constexpr std::size_t kDropReasonCount = std::size_t(DropReason::Count_);
const char* to_string(DropReason r);

struct TunnResult {
    Op op = Op::Done;
    std::size_t size = 0;
    DropReason reason = DropReason::None;
    bool authenticated = false;  // the input was a valid message from the peer (roaming may follow it)

    static TunnResult done(bool auth = false) { return {Op::Done, 0, DropReason::None, auth}; }
    static TunnResult drop(DropReason r) { return {Op::Drop, 0, r, false}; }
    static TunnResult network(std::size_t n, bool auth = false) { return {Op::WriteToNetwork, n, DropReason::None, auth}; }
};

struct PeerStats {
    std::uint64_t tx_bytes = 0;  // datagram bytes sent to the peer
    std::uint64_t rx_bytes = 0;  // datagram bytes received from it and authenticated
    std::chrono::nanoseconds last_handshake{0};  // Unix time of the last completed handshake; 0 = never
    std::uint32_t handshake_attempts = 0;
    std::array<std::uint64_t, kDropReasonCount> drops{};
};

}  // namespace ztna::tunnel
