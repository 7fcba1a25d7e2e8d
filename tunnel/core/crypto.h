// The primitives of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses
// them: BLAKE2s (libb2) for HASH, MAC, HMAC and HKDF; X25519,
// ChaCha20-Poly1305 and XChaCha20-Poly1305 from libsodium.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "secret.h"

namespace ztna::tunnel::crypto {

using Bytes = std::span<const std::uint8_t>;

// Must be called once before anything else (sodium_init); safe to repeat.
bool init();

// HASH(a || b || ...): BLAKE2s-256.
void hash(std::span<std::uint8_t, 32> out, std::initializer_list<Bytes> parts);
// MAC(key, data): keyed BLAKE2s with a 16-byte output.
void mac(std::span<std::uint8_t, 16> out, Bytes key, Bytes data);
// HMAC-BLAKE2s (block size 64).
void hmac(std::span<std::uint8_t, 32> out, Bytes key, std::initializer_list<Bytes> data);
// HKDF over HMAC-BLAKE2s, as in the whitepaper (KDF1..KDF3).
void kdf1(Key& t1, Bytes chaining_key, Bytes input);
void kdf2(Key& t1, Key& t2, Bytes chaining_key, Bytes input);
void kdf3(Key& t1, Key& t2, Key& t3, Bytes chaining_key, Bytes input);

// X25519. Returns false when the result is all zeros (a low-order point).
[[nodiscard]] bool dh(Key& out, const Key& private_key, const PublicKey& public_key);
void public_from_private(PublicKey& out, const Key& private_key);
// A clamped X25519 private key from rng bytes.
void clamp(Key& k);

constexpr std::size_t kAeadTag = 16;
// The ChaCha20-Poly1305 nonce of WireGuard: 32 zero bits || le64(counter).
void counter_nonce(std::uint8_t out[12], std::uint64_t counter);
// ChaCha20-Poly1305 (IETF) with the nonce 32 zero bits || le64(counter).
void aead_seal(std::uint8_t* out, const Key& key, std::uint64_t counter, Bytes plaintext, Bytes ad);
[[nodiscard]] bool aead_open(std::uint8_t* out, const Key& key, std::uint64_t counter, Bytes ciphertext, Bytes ad);
// XChaCha20-Poly1305, for cookie replies.
void xaead_seal(std::uint8_t* out, Bytes key, std::span<const std::uint8_t, 24> nonce, Bytes plaintext, Bytes ad);
[[nodiscard]] bool xaead_open(std::uint8_t* out, Bytes key, std::span<const std::uint8_t, 24> nonce, Bytes ciphertext, Bytes ad);

}  // namespace ztna::tunnel::crypto
