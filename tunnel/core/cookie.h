// MAC1/MAC2 and cookie replies (whitepaper 5.4.4, 5.4.7, 6.6). The responder
// side (CookieChecker) belongs to the local identity; the initiator side
// (CookieGenerator) belongs to each peer.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "env.h"
#include "messages.h"
#include "secret.h"

namespace ztna::tunnel {

// Opaque bytes that identify a datagram's source (address and port); the
// embedder chooses the encoding, only the same encoding must come back.
using SourceAddr = std::span<const std::uint8_t>;

class CookieChecker {
public:
    explicit CookieChecker(const PublicKey& local_public);

    // msg is a whole initiation or response; the MAC offsets follow from its size.
    bool check_mac1(std::span<const std::uint8_t> msg) const;
    // Valid only with a cookie this checker issued to src within the last 2 minutes.
    bool check_mac2(std::span<const std::uint8_t> msg, SourceAddr src, Duration now) const;
    // Writes a cookie reply (64 bytes) for msg, addressed to sender. Rotates the
    // secret when it is older than 2 minutes.
    void create_reply(std::span<std::uint8_t, spec::kCookieReplySize> out, std::span<const std::uint8_t> msg,
                      std::uint32_t sender, SourceAddr src, Env& env);

private:
    void cookie_for(std::span<std::uint8_t, 16> out, SourceAddr src) const;

    std::array<std::uint8_t, 32> mac1_key_{};
    Key cookie_key_;
    Key secret_;
    Duration secret_set_{};
    bool has_secret_ = false;
};

class CookieGenerator {
public:
    explicit CookieGenerator(const PublicKey& remote_public);

    // Fills mac1 and, while a fresh cookie is held, mac2 of an outgoing handshake message.
    void add_macs(std::span<std::uint8_t> msg, Duration now);
    // Decrypts a cookie reply to the last message sent. False if it is not one.
    bool consume_reply(const CookieReplyMsg& reply, Duration now);

private:
    std::array<std::uint8_t, 32> mac1_key_{};
    Key cookie_key_;
    std::array<std::uint8_t, 16> last_mac1_{};
    bool has_last_mac1_ = false;
    Secret<16> cookie_;
    Duration cookie_set_{};
    bool has_cookie_ = false;
};

}  // namespace ztna::tunnel
