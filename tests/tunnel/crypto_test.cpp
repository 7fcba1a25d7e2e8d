// Known-answer vectors for crypto.h and the packet ciphers. Vectors not from
// an RFC were computed with Python's hashlib/hmac and the `cryptography`
// package (independent implementations).
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "crypto.h"
#include "packet_cipher.h"
#include "test_hex.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {
crypto::Bytes str(const char* s) { return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)}; }
const char* kFox = "The quick brown fox jumps over the lazy dog";

Key key_from_hex(const char* h) {
    const auto v = unhex(h);
    REQUIRE(v.size() == 32);
    return Key(std::span<const std::uint8_t, 32>(v.data(), 32));
}
PublicKey pub_from_hex(const char* h) {
    const auto v = unhex(h);
    PublicKey p{};
    std::memcpy(p.data(), v.data(), 32);
    return p;
}
Key counting_key() {
    Key k;
    for (std::size_t i = 0; i < 32; ++i) k.data()[i] = std::uint8_t(i);
    return k;
}
}  // namespace

TEST_CASE("X25519: RFC 7748 section 5.2 scalar multiplication vectors") {
    // libsodium clamps the scalar itself, as RFC 7748 requires.
    Key out;
    REQUIRE(crypto::dh(out, key_from_hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                       pub_from_hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")));
    CHECK(hex(out.span()) == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    REQUIRE(crypto::dh(out, key_from_hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                       pub_from_hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")));
    CHECK(hex(out.span()) == "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST_CASE("X25519: RFC 7748 section 6.1 Diffie-Hellman") {
    const Key alice = key_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const Key bob = key_from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    PublicKey alice_pub, bob_pub;
    crypto::public_from_private(alice_pub, alice);
    crypto::public_from_private(bob_pub, bob);
    CHECK(hex(alice_pub) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    CHECK(hex(bob_pub) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    Key k1, k2;
    REQUIRE(crypto::dh(k1, alice, bob_pub));
    REQUIRE(crypto::dh(k2, bob, alice_pub));
    CHECK(hex(k1.span()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    CHECK(k1.equals(k2));
}

TEST_CASE("X25519: a low-order public key gives no shared secret") {
    const Key alice = key_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    Key out;
    PublicKey zero{};
    CHECK_FALSE(crypto::dh(out, alice, zero));
    PublicKey one{};
    one[0] = 1;
    CHECK_FALSE(crypto::dh(out, alice, one));
}

TEST_CASE("X25519: clamp") {
    Key k;
    std::memset(k.data(), 0xff, 32);
    crypto::clamp(k);
    CHECK(k.data()[0] == 0xf8);
    CHECK(k.data()[31] == 0x7f);
    std::memset(k.data(), 0x00, 32);
    crypto::clamp(k);
    CHECK(k.data()[0] == 0x00);
    CHECK(k.data()[31] == 0x40);
}

TEST_CASE("BLAKE2s-256 known answers") {
    std::array<std::uint8_t, 32> h{};
    crypto::hash(h, {str("abc")});  // RFC 7693 appendix B
    CHECK(hex(h) == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    crypto::hash(h, {});
    CHECK(hex(h) == "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
    // Parts are concatenated.
    crypto::hash(h, {str("a"), str(""), str("bc")});
    CHECK(hex(h) == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    // The protocol's initial chaining key and hash (every WireGuard implementation has these).
    crypto::hash(h, {str("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")});
    CHECK(hex(h) == "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
    std::array<std::uint8_t, 32> h0{};
    crypto::hash(h0, {h, str("WireGuard v1 zx2c4 Jason@zx2c4.com")});
    CHECK(hex(h0) == "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}

TEST_CASE("MAC: keyed BLAKE2s with a 16-byte output") {
    std::array<std::uint8_t, 16> m{};
    const Key k = counting_key();
    crypto::mac(m, k.span(), str(kFox));
    CHECK(hex(m) == "4e2219ec6d234a478e4ace91429bbce4");
    std::array<std::uint8_t, 16> k16{};
    for (std::size_t i = 0; i < 16; ++i) k16[i] = std::uint8_t(i);
    crypto::mac(m, k16, str(kFox));  // cookies are 16-byte MAC keys
    CHECK(hex(m) == "a745047ad25246370219b942e684dd6a");
}

TEST_CASE("HMAC-BLAKE2s and HKDF") {
    std::array<std::uint8_t, 32> out{};
    const Key k = counting_key();
    crypto::hmac(out, k.span(), {str(kFox)});
    CHECK(hex(out) == "f4660dee21c6a48e2a3d695ceedc26693e37b64b5ac5227476578517ee87fe6d");
    crypto::hmac(out, k.span(), {str("The quick brown "), str("fox jumps over the lazy dog")});
    CHECK(hex(out) == "f4660dee21c6a48e2a3d695ceedc26693e37b64b5ac5227476578517ee87fe6d");
    std::array<std::uint8_t, 100> long_key{};
    for (std::size_t i = 0; i < long_key.size(); ++i) long_key[i] = std::uint8_t(i);
    crypto::hmac(out, long_key, {str(kFox)});  // keys over the block size are hashed first
    CHECK(hex(out) == "62bc55ee982e83e9f80ff756c037bac835c4201c91817685b52396da1482a6e4");

    std::array<std::uint8_t, 32> ck{};
    crypto::hash(ck, {str("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")});
    std::array<std::uint8_t, 32> input;
    input.fill(0x42);
    Key t1, t2, t3;
    crypto::kdf3(t1, t2, t3, ck, input);
    CHECK(hex(t1.span()) == "7c2e52a7caca44d65a8e13a5eedc5a1c053d4923396dde6808ca7381c9fa31d1");
    CHECK(hex(t2.span()) == "32016483cdab35bc3625293aaf8a06aeff1505e5ad3f7bce2858ba7c24fbc9c3");
    CHECK(hex(t3.span()) == "8ad1f3ddf2249e1bf68b8b5d329d6c5751696093facfa5a2f8993152009a41c8");
    // KDF1 and KDF2 are prefixes of KDF3.
    Key u1, u2, v1;
    crypto::kdf2(u1, u2, ck, input);
    crypto::kdf1(v1, ck, input);
    CHECK(u1.equals(t1));
    CHECK(u2.equals(t2));
    CHECK(v1.equals(t1));
    // Empty input, as for the transport keys.
    crypto::kdf2(u1, u2, ck, {});
    CHECK(hex(u1.span()) == "bd968725a9177942a8c2e4253d1dde31cf7b19ec001b4a3a3d141cd9d998d3ba");
    CHECK(hex(u2.span()) == "aab5462b323780fa615bf80ffe469510239ff361575a663968e686a7ae41d693");
    // In-place chaining key update (as the handshake does with a copy).
    Key ckk(std::span<const std::uint8_t, 32>(ck.data(), 32));
    crypto::kdf1(ckk, Key(ckk).span(), input);
    CHECK(ckk.equals(t1));
}

TEST_CASE("AEAD: ChaCha20-Poly1305 with the WireGuard nonce (32 zero bits, le64 counter)") {
    const Key k = counting_key();
    const std::uint64_t counter = 0x0102030405060708ull;
    const auto pt = str(kFox);
    std::vector<std::uint8_t> ct(pt.size() + 16);
    crypto::aead_seal(ct.data(), k, counter, pt, str("ad"));
    CHECK(hex(ct) ==
          "a421c8c4da4c837b0f8b48be1c0f0f9886698ae4e23128ee2415c82b8c7087a9311920d1b34870d9745b017488d35f10e1fff57d4042fb9cb6ba02");
    std::vector<std::uint8_t> back(pt.size());
    REQUIRE(crypto::aead_open(back.data(), k, counter, ct, str("ad")));
    CHECK(std::memcmp(back.data(), pt.data(), pt.size()) == 0);
    CHECK_FALSE(crypto::aead_open(back.data(), k, counter + 1, ct, str("ad")));
    CHECK_FALSE(crypto::aead_open(back.data(), k, counter, ct, str("ae")));
    for (std::size_t i = 0; i < ct.size(); ++i) {
        auto bad = ct;
        bad[i] ^= 1;
        CHECK_FALSE(crypto::aead_open(back.data(), k, counter, bad, str("ad")));
    }
    CHECK_FALSE(crypto::aead_open(back.data(), k, counter, {ct.data(), 15}, str("ad")));
    // Empty plaintext: just a tag (the handshake's encrypted nothing).
    std::array<std::uint8_t, 16> tag{};
    crypto::aead_seal(tag.data(), k, 0, {}, str("h"));
    std::uint8_t dummy[1];
    CHECK(crypto::aead_open(dummy, k, 0, tag, str("h")));
}

TEST_CASE("XAEAD: XChaCha20-Poly1305 round trip and tamper") {
    const Key k = counting_key();
    std::array<std::uint8_t, 24> nonce{};
    nonce[0] = 9;
    const std::array<std::uint8_t, 16> cookie{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    std::array<std::uint8_t, 32> sealed{};
    crypto::xaead_seal(sealed.data(), k.span(), nonce, cookie, str("mac1"));
    std::array<std::uint8_t, 16> back{};
    REQUIRE(crypto::xaead_open(back.data(), k.span(), nonce, sealed, str("mac1")));
    CHECK(back == cookie);
    CHECK_FALSE(crypto::xaead_open(back.data(), k.span(), nonce, sealed, str("mac2")));
    nonce[23] ^= 1;
    CHECK_FALSE(crypto::xaead_open(back.data(), k.span(), nonce, sealed, str("mac1")));
}

TEST_CASE("packet ciphers: both backends give the known answer and open each other's output") {
    const Key k = counting_key();
    const std::uint64_t counter = 0x0102030405060708ull;
    const auto pt = str(kFox);
    const std::string expected =
        "a421c8c4da4c837b0f8b48be1c0f0f9886698ae4e23128ee2415c82b8c7087a9311920d1b34870d9745b011ff8e82e23c89c65912edf0e75bd79ae";
    auto sodium = make_packet_cipher(AeadBackend::Libsodium, k);
    auto openssl = make_packet_cipher(AeadBackend::OpenSsl, k);
    for (PacketCipher* seal : {sodium.get(), openssl.get()}) {
        std::vector<std::uint8_t> ct(pt.size() + 16);
        seal->seal(ct.data(), counter, pt.data(), pt.size());
        CHECK(hex(ct) == expected);
        for (PacketCipher* open : {sodium.get(), openssl.get()}) {
            std::vector<std::uint8_t> back(pt.size());
            REQUIRE(open->open(back.data(), counter, ct.data(), ct.size()));
            CHECK(std::memcmp(back.data(), pt.data(), pt.size()) == 0);
            CHECK_FALSE(open->open(back.data(), counter + 1, ct.data(), ct.size()));
            for (std::size_t i = 0; i < ct.size(); ++i) {
                auto bad = ct;
                bad[i] ^= 0x10;
                CHECK_FALSE(open->open(back.data(), counter, bad.data(), bad.size()));
            }
            CHECK_FALSE(open->open(back.data(), counter, ct.data(), 15));
            // Keepalive: 0 bytes of plaintext.
            std::array<std::uint8_t, 16> tag{};
            seal->seal(tag.data(), 7, nullptr, 0);
            std::uint8_t none[1];
            CHECK(open->open(none, 7, tag.data(), tag.size()));
            tag[3] ^= 1;
            CHECK_FALSE(open->open(none, 7, tag.data(), tag.size()));
        }
    }
    // After a failed open the cipher still works (no sticky error state).
    std::vector<std::uint8_t> ct(pt.size() + 16), back(pt.size());
    openssl->seal(ct.data(), 1, pt.data(), pt.size());
    ct[0] ^= 1;
    CHECK_FALSE(openssl->open(back.data(), 1, ct.data(), ct.size()));
    ct[0] ^= 1;
    CHECK(openssl->open(back.data(), 1, ct.data(), ct.size()));
    // In place, as the data path does it.
    std::vector<std::uint8_t> buf(pt.begin(), pt.end());
    buf.resize(pt.size() + 16);
    sodium->seal(buf.data(), 3, buf.data(), pt.size());
    REQUIRE(openssl->open(buf.data(), 3, buf.data(), buf.size()));
    CHECK(std::memcmp(buf.data(), pt.data(), pt.size()) == 0);
}
