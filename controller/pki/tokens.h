// Random identifiers and bearer secrets (enrollment tokens, the admin
// credential), and the SHA-256 the store keeps instead of a secret.
#pragma once

#include <string>
#include <string_view>

#include "secret_string.h"

namespace ztna::controller {

// prefix + 16 lowercase hex digits (64 random bits): a public handle
// ("dev_3f9a...", "tok_..."), never a secret.
std::string random_id(std::string_view prefix);

// prefix + 44 base64url characters (264 random bits): a bearer secret,
// shown once to whoever created it.
SecretString new_secret(std::string_view prefix);

// Lowercase hex SHA-256 of a secret: what the store and the config keep.
std::string sha256_hex(std::string_view data);

// Constant-time equality of two equal-length strings (false when the lengths differ).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace ztna::controller
