#include "keys.h"

#include <sodium.h>

#include "crypto.h"

namespace ztna::tunnel {

Key generate_private_key(Rng& rng) {
    Key k;
    rng.fill(k.span());
    crypto::clamp(k);
    return k;
}

PublicKey public_key_of(const Key& private_key) {
    PublicKey p;
    crypto::public_from_private(p, private_key);
    return p;
}

std::string to_base64(std::span<const std::uint8_t, 32> key) {
    char buf[64];
    sodium_bin2base64(buf, sizeof buf, key.data(), 32, sodium_base64_VARIANT_ORIGINAL);
    return buf;
}

std::string to_hex(std::span<const std::uint8_t, 32> key) {
    char buf[65];
    sodium_bin2hex(buf, sizeof buf, key.data(), 32);
    return buf;
}

bool from_base64(std::span<std::uint8_t, 32> out, std::string_view text) {
    if (text.size() != 44 || text[43] != '=' || text[42] == '=') return false;
    // libsodium 1.0.18's decoder takes bytes 0x80-0xff as base64 digits: check the alphabet first.
    for (char c : text.substr(0, 43))
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return false;
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), 32, text.data(), text.size(), nullptr, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return len == 32 && end == text.data() + text.size();
}

bool from_hex(std::span<std::uint8_t, 32> out, std::string_view text) {
    if (text.size() != 64) return false;
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(out.data(), 32, text.data(), text.size(), nullptr, &len, &end) != 0) return false;
    return len == 32 && end == text.data() + text.size();
}

}  // namespace ztna::tunnel
