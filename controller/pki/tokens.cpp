#include "tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace ztna::controller {

namespace {

void random_bytes(unsigned char* out, std::size_t n) {
    // Failing to draw randomness is not an input error: stop rather than
    // hand out a guessable secret.
    if (RAND_bytes(out, int(n)) != 1) throw std::runtime_error("the system random number generator failed");
}

}  // namespace

std::string random_id(std::string_view prefix) {
    static constexpr char kHex[] = "0123456789abcdef";
    unsigned char b[8];
    random_bytes(b, sizeof b);
    std::string out(prefix);
    for (unsigned char c : b) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

SecretString new_secret(std::string_view prefix) {
    static constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[33];  // 264 bits, 44 characters; the first 256 bits in 43 would need padding logic
    random_bytes(b, sizeof b);
    std::string out(prefix);
    for (std::size_t i = 0; i < sizeof b; i += 3) {
        const unsigned v = (unsigned(b[i]) << 16) | (unsigned(b[i + 1]) << 8) | b[i + 2];
        out += kB64Url[(v >> 18) & 63];
        out += kB64Url[(v >> 12) & 63];
        out += kB64Url[(v >> 6) & 63];
        out += kB64Url[v & 63];
    }
    OPENSSL_cleanse(b, sizeof b);
    return SecretString(std::move(out));
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1 || n != 32)
        throw std::runtime_error("SHA-256 is not available from OpenSSL");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : md) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ztna::controller
