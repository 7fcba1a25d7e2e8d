// Constants of the WireGuard specification (whitepaper section 6.1 and the
// protocol's fixed strings), kept apart from this implementation's own limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ztna::tunnel {

using Duration = std::chrono::nanoseconds;
using namespace std::chrono_literals;

namespace spec {
inline constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
inline constexpr char kLabelMac1[] = "mac1----";
inline constexpr char kLabelCookie[] = "cookie--";

inline constexpr std::uint64_t kRekeyAfterMessages = 1ull << 60;
inline constexpr std::uint64_t kRejectAfterMessages = ~0ull - (1ull << 13);  // 2^64 - 2^13 - 1
inline constexpr Duration kRekeyAfterTime = 120s;
inline constexpr Duration kRejectAfterTime = 180s;
inline constexpr Duration kRekeyAttemptTime = 90s;
inline constexpr Duration kRekeyTimeout = 5s;
inline constexpr Duration kKeepaliveTimeout = 10s;
inline constexpr Duration kCookieRefreshTime = 120s;  // cookie secret rotation and cookie lifetime
inline constexpr Duration kRekeyTimeoutJitterMax = 333ms;

inline constexpr std::uint8_t kTypeInitiation = 1;
inline constexpr std::uint8_t kTypeResponse = 2;
inline constexpr std::uint8_t kTypeCookieReply = 3;
inline constexpr std::uint8_t kTypeData = 4;

inline constexpr std::size_t kInitiationSize = 148;
inline constexpr std::size_t kResponseSize = 92;
inline constexpr std::size_t kCookieReplySize = 64;
inline constexpr std::size_t kDataHeaderSize = 16;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kDataMinSize = kDataHeaderSize + kTagSize;  // a keepalive
inline constexpr std::size_t kPaddingMultiple = 16;
}  // namespace spec

namespace limits {
// Replay window: bits kept behind the highest counter seen (wireguard-go keeps 8128).
inline constexpr std::size_t kReplayWindowBits = 8192;
// Retransmission gives up once more than REKEY_ATTEMPT_TIME / REKEY_TIMEOUT retries were made
// (wireguard-go and the kernel: MAX_TIMER_HANDSHAKES, compared with ">").
inline constexpr int kMaxHandshakeAttempts = int(spec::kRekeyAttemptTime / spec::kRekeyTimeout);
// Packets held while a handshake is in flight, per peer.
inline constexpr std::size_t kMaxQueuedPackets = 64;
// Largest IP packet accepted from the tunnel side (and so largest datagram).
inline constexpr std::size_t kMaxPacketSize = 65535;
// Largest datagram the core will look at; anything bigger is dropped unread.
inline constexpr std::size_t kMaxDatagramSize = kMaxPacketSize + spec::kDataMinSize + spec::kPaddingMultiple;
// Handshake messages per second above which initiators must prove their address (cookies).
inline constexpr std::uint32_t kUnderLoadHandshakesPerSecond = 256;
// Initiations with a timestamp more than this far apart are not flooded.
inline constexpr Duration kInitiationMinInterval = Duration(1s) / 50;  // 20 ms (not 1s / 50: that is 0 whole seconds)
}  // namespace limits

}  // namespace ztna::tunnel
