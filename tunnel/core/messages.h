// Wire layout of the four WireGuard messages, and the one function that
// checks type and length before anything else looks at a datagram: nothing
// hostile reaches the crypto without passing parse().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <variant>

#include "constants.h"

namespace ztna::tunnel {

inline std::uint32_t load_le32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint64_t load_le64(const std::uint8_t* p) { return std::uint64_t(load_le32(p)) | std::uint64_t(load_le32(p + 4)) << 32; }
inline void store_le32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
inline void store_le64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}

// Offsets inside each message (whitepaper section 5.4).
namespace layout {
namespace init {
inline constexpr std::size_t kSender = 4, kEphemeral = 8, kStatic = 40, kTimestamp = 88, kMac1 = 116, kMac2 = 132;
}
namespace resp {
inline constexpr std::size_t kSender = 4, kReceiver = 8, kEphemeral = 12, kEmpty = 44, kMac1 = 60, kMac2 = 76;
}
namespace cookie {
inline constexpr std::size_t kReceiver = 4, kNonce = 8, kCookie = 32;
}
namespace data {
inline constexpr std::size_t kReceiver = 4, kCounter = 8, kPayload = 16;
}
}  // namespace layout

// Views into the caller's datagram; valid while it is.
struct InitiationMsg {
    std::span<const std::uint8_t, spec::kInitiationSize> bytes;
    std::uint32_t sender() const { return load_le32(bytes.data() + layout::init::kSender); }
};
struct ResponseMsg {
    std::span<const std::uint8_t, spec::kResponseSize> bytes;
    std::uint32_t sender() const { return load_le32(bytes.data() + layout::resp::kSender); }
    std::uint32_t receiver() const { return load_le32(bytes.data() + layout::resp::kReceiver); }
};
struct CookieReplyMsg {
    std::span<const std::uint8_t, spec::kCookieReplySize> bytes;
    std::uint32_t receiver() const { return load_le32(bytes.data() + layout::cookie::kReceiver); }
};
struct DataMsg {
    std::span<const std::uint8_t> bytes;
    std::uint32_t receiver() const { return load_le32(bytes.data() + layout::data::kReceiver); }
    std::uint64_t counter() const { return load_le64(bytes.data() + layout::data::kCounter); }
    std::span<const std::uint8_t> ciphertext() const { return bytes.subspan(layout::data::kPayload); }
};

enum class ParseError { Empty, UnknownType, BadLength, ReservedNonZero };
const char* to_string(ParseError e);

using Message = std::variant<InitiationMsg, ResponseMsg, CookieReplyMsg, DataMsg, ParseError>;

// Checks type, reserved bytes and exact length. Never reads past datagram.
Message parse(std::span<const std::uint8_t> datagram);

// The receiver index a message is addressed to (0 for initiations), used by a
// device to route a datagram to its peer without decrypting anything.
std::uint32_t receiver_index(const Message& m);

}  // namespace ztna::tunnel
