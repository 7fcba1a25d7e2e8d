// The bulk AEAD of the data path (ChaCha20-Poly1305, empty associated data),
// behind one small interface so the benchmark can pick the faster library.
// One object per direction of a session: the key is set once, each packet
// only changes the nonce. No allocation per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "secret.h"

namespace ztna::tunnel {

enum class AeadBackend { Libsodium, OpenSsl, BySize };

// Chosen by bench/tunnel_bench (figures in docs/performance.md): libsodium is
// faster below about 576 bytes (OpenSSL has a fixed cost per call), OpenSSL
// 1.35-1.5x faster from 640 bytes up. Both compute the same ChaCha20-Poly1305,
// so BySize picks per packet.
inline constexpr AeadBackend kDefaultAeadBackend = AeadBackend::BySize;
inline constexpr std::size_t kBySizeOpenSslFrom = 576;

std::string_view to_string(AeadBackend b);

class PacketCipher {
public:
    virtual ~PacketCipher() = default;
    // Writes n bytes of ciphertext and a 16-byte tag to out.
    virtual void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* plaintext, std::size_t n) = 0;
    // ciphertext holds n bytes including the tag; writes n - 16 bytes to out.
    [[nodiscard]] virtual bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ciphertext,
                                    std::size_t n) = 0;
};

// Falls back to libsodium where OpenSSL cannot do ChaCha20-Poly1305.
std::unique_ptr<PacketCipher> make_packet_cipher(AeadBackend backend, const Key& key);
bool openssl_chacha_available();

}  // namespace ztna::tunnel
