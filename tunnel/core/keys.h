// Key generation and the base64 / hex text forms used by wg(8) and the UAPI.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rng.h"
#include "secret.h"

namespace ztna::tunnel {

Key generate_private_key(Rng& rng);
PublicKey public_key_of(const Key& private_key);

std::string to_base64(std::span<const std::uint8_t, 32> key);
std::string to_hex(std::span<const std::uint8_t, 32> key);
// Accept exactly 44 base64 characters (32 bytes) / 64 hex digits.
bool from_base64(std::span<std::uint8_t, 32> out, std::string_view text);
bool from_hex(std::span<std::uint8_t, 32> out, std::string_view text);

}  // namespace ztna::tunnel
