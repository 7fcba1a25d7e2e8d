#include "crypto.h"

#include <blake2.h>
#include <sodium.h>

#include <cstring>

#include "packet_cipher.h"
#include "rng.h"

namespace ztna::tunnel {

void SystemRng::fill(std::span<std::uint8_t> out) { randombytes_buf(out.data(), out.size()); }

SeededRng::SeededRng(std::uint64_t seed) {
    std::memset(seed_, 0, sizeof seed_);
    std::memcpy(seed_, &seed, sizeof seed);
}

void SeededRng::fill(std::span<std::uint8_t> out) {
    // Derive a per-call seed so successive calls give different bytes.
    std::uint8_t s[32];
    std::memcpy(s, seed_, 32);
    std::uint64_t c = ++counter_;
    for (int i = 0; i < 8; ++i) s[24 + i] ^= std::uint8_t(c >> (8 * i));
    randombytes_buf_deterministic(out.data(), out.size(), s);
}

namespace crypto {

bool init() {
    if (sodium_init() < 0) return false;
    // Load OpenSSL's provider now rather than inside the first handshake (a few ms).
    (void)openssl_chacha_available();
    return true;
}

void hash(std::span<std::uint8_t, 32> out, std::initializer_list<Bytes> parts) {
    blake2s_state s;
    blake2s_init(&s, 32);
    for (auto p : parts) blake2s_update(&s, p.data(), p.size());
    blake2s_final(&s, out.data(), 32);
    sodium_memzero(&s, sizeof s);
}

void mac(std::span<std::uint8_t, 16> out, Bytes key, Bytes data) {
    blake2s_state s;
    blake2s_init_key(&s, 16, key.data(), key.size());
    blake2s_update(&s, data.data(), data.size());
    blake2s_final(&s, out.data(), 16);
    sodium_memzero(&s, sizeof s);
}

void hmac(std::span<std::uint8_t, 32> out, Bytes key, std::initializer_list<Bytes> data) {
    constexpr std::size_t kBlock = 64;
    std::uint8_t k[kBlock] = {};
    std::uint8_t pad[kBlock];
    std::uint8_t inner[32];
    if (key.size() > kBlock) {
        hash(std::span<std::uint8_t, 32>(k, 32), {key});
    } else {
        std::memcpy(k, key.data(), key.size());
    }
    blake2s_state s;
    for (std::size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
    blake2s_init(&s, 32);
    blake2s_update(&s, pad, kBlock);
    for (auto d : data) blake2s_update(&s, d.data(), d.size());
    blake2s_final(&s, inner, 32);
    for (std::size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
    blake2s_init(&s, 32);
    blake2s_update(&s, pad, kBlock);
    blake2s_update(&s, inner, 32);
    blake2s_final(&s, out.data(), 32);
    sodium_memzero(k, sizeof k);
    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
    sodium_memzero(&s, sizeof s);
}

namespace {
void kdf(Key* outs[], int n, Bytes ck, Bytes input) {
    Key t0;
    hmac(t0.span(), ck, {input});
    const std::uint8_t one = 1;
    hmac(outs[0]->span(), t0.span(), {Bytes(&one, 1)});
    for (int i = 1; i < n; ++i) {
        const std::uint8_t c = std::uint8_t(i + 1);
        Key prev(outs[i - 1]->span());
        hmac(outs[i]->span(), t0.span(), {prev.span(), Bytes(&c, 1)});
    }
}
}  // namespace

void kdf1(Key& t1, Bytes ck, Bytes input) {
    Key* o[] = {&t1};
    kdf(o, 1, ck, input);
}
void kdf2(Key& t1, Key& t2, Bytes ck, Bytes input) {
    Key* o[] = {&t1, &t2};
    kdf(o, 2, ck, input);
}
void kdf3(Key& t1, Key& t2, Key& t3, Bytes ck, Bytes input) {
    Key* o[] = {&t1, &t2, &t3};
    kdf(o, 3, ck, input);
}

bool dh(Key& out, const Key& priv, const PublicKey& pub) {
    return crypto_scalarmult_curve25519(out.data(), priv.data(), pub.data()) == 0;
}

void public_from_private(PublicKey& out, const Key& priv) { crypto_scalarmult_curve25519_base(out.data(), priv.data()); }

void clamp(Key& k) {
    k.data()[0] &= 248;
    k.data()[31] = (k.data()[31] & 127) | 64;
}

void counter_nonce(std::uint8_t n[12], std::uint64_t counter) {
    std::memset(n, 0, 4);
    for (int i = 0; i < 8; ++i) n[4 + i] = std::uint8_t(counter >> (8 * i));
}

void aead_seal(std::uint8_t* out, const Key& key, std::uint64_t counter, Bytes pt, Bytes ad) {
    std::uint8_t n[12];
    counter_nonce(n, counter);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, nullptr, pt.data(), pt.size(), ad.data(), ad.size(), nullptr, n,
                                              key.data());
}

bool aead_open(std::uint8_t* out, const Key& key, std::uint64_t counter, Bytes ct, Bytes ad) {
    if (ct.size() < kAeadTag) return false;
    std::uint8_t n[12];
    counter_nonce(n, counter);
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, nullptr, nullptr, ct.data(), ct.size(), ad.data(), ad.size(), n,
                                                     key.data()) == 0;
}

void xaead_seal(std::uint8_t* out, Bytes key, std::span<const std::uint8_t, 24> nonce, Bytes pt, Bytes ad) {
    crypto_aead_xchacha20poly1305_ietf_encrypt(out, nullptr, pt.data(), pt.size(), ad.data(), ad.size(), nullptr,
                                               nonce.data(), key.data());
}

bool xaead_open(std::uint8_t* out, Bytes key, std::span<const std::uint8_t, 24> nonce, Bytes ct, Bytes ad) {
    if (ct.size() < kAeadTag) return false;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(out, nullptr, nullptr, ct.data(), ct.size(), ad.data(), ad.size(),
                                                      nonce.data(), key.data()) == 0;
}

}  // namespace crypto
}  // namespace ztna::tunnel
