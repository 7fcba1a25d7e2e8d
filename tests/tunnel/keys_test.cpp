// keys.h: generation and the base64 / hex text forms.
#include <doctest/doctest.h>

#include <string>

#include "keys.h"
#include "test_hex.h"

using namespace ztna::tunnel;
using namespace ztna::tunnel::testing;

namespace {
// RFC 7748 section 6.1: Alice's private key and its public key.
const char* kAlicePrivHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const char* kAlicePubHex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
}  // namespace

TEST_CASE("keys: known base64 and hex forms") {
    std::array<std::uint8_t, 32> zero{};
    CHECK(to_base64(zero) == std::string(43, 'A') + "=");
    CHECK(to_hex(zero) == std::string(64, '0'));
    std::array<std::uint8_t, 32> k{};
    for (std::size_t i = 0; i < 32; ++i) k[i] = std::uint8_t(i);
    CHECK(to_hex(k) == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    CHECK(to_base64(k) == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    std::array<std::uint8_t, 32> back{};
    REQUIRE(from_base64(back, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
    CHECK(back == k);
    back.fill(0);
    REQUIRE(from_hex(back, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
    CHECK(back == k);
    back.fill(0);
    REQUIRE(from_hex(back, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"));
    CHECK(back == k);
}

TEST_CASE("keys: base64 and hex round trips of generated keys") {
    SeededRng rng(99);
    for (int i = 0; i < 200; ++i) {
        const Key priv = generate_private_key(rng);
        const PublicKey pub = public_key_of(priv);
        for (auto bytes : {std::span<const std::uint8_t, 32>(priv.span()), std::span<const std::uint8_t, 32>(pub)}) {
            const std::string b64 = to_base64(bytes);
            const std::string hx = to_hex(bytes);
            REQUIRE(b64.size() == 44);
            REQUIRE(hx.size() == 64);
            std::array<std::uint8_t, 32> x{}, y{};
            REQUIRE(from_base64(x, b64));
            REQUIRE(from_hex(y, hx));
            CHECK(std::equal(x.begin(), x.end(), bytes.begin()));
            CHECK(std::equal(y.begin(), y.end(), bytes.begin()));
        }
    }
}

TEST_CASE("keys: generated private keys are clamped and differ") {
    SeededRng rng(5);
    const Key a = generate_private_key(rng);
    const Key b = generate_private_key(rng);
    CHECK_FALSE(a.equals(b));
    for (const Key* k : {&a, &b}) {
        CHECK((k->data()[0] & 7) == 0);
        CHECK((k->data()[31] & 0x80) == 0);
        CHECK((k->data()[31] & 0x40) == 0x40);
    }
    // The same seed gives the same key (tests depend on it).
    SeededRng again(5);
    CHECK(generate_private_key(again).equals(a));
}

TEST_CASE("keys: public_key_of matches RFC 7748") {
    Key priv;
    REQUIRE(from_hex(priv.span(), kAlicePrivHex));
    CHECK(to_hex(public_key_of(priv)) == kAlicePubHex);
}

TEST_CASE("keys: wrong lengths are rejected") {
    std::array<std::uint8_t, 32> out{};
    const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    CHECK_FALSE(from_base64(out, ""));
    CHECK_FALSE(from_base64(out, good.substr(0, 43)));
    CHECK_FALSE(from_base64(out, good.substr(1)));
    CHECK_FALSE(from_base64(out, good + "="));
    CHECK_FALSE(from_base64(out, good + "A"));
    CHECK_FALSE(from_base64(out, good.substr(0, 43)));
    CHECK_FALSE(from_base64(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));  // unpadded
    CHECK_FALSE(from_base64(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="));  // 31 bytes
    CHECK_FALSE(from_base64(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ=="));  // 34 bytes
    const std::string hx = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    CHECK_FALSE(from_hex(out, ""));
    CHECK_FALSE(from_hex(out, hx.substr(1)));
    CHECK_FALSE(from_hex(out, hx.substr(0, 62)));
    CHECK_FALSE(from_hex(out, hx + "0"));
    CHECK_FALSE(from_hex(out, hx + "00"));
}

TEST_CASE("keys: bad characters are rejected at every position") {
    std::array<std::uint8_t, 32> out{};
    const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    for (std::size_t i = 0; i < 43; ++i) {
        for (char c : {'!', ' ', '-', '_', '.', '\n', '\0', '=', char(0xc3)}) {
            CAPTURE(i);
            CAPTURE(int(c));
            std::string bad = good;
            bad[i] = c;
            CHECK_FALSE(from_base64(out, bad));
        }
    }
    // Every byte outside the alphabet (libsodium 1.0.18 alone accepts 0x80-0xff).
    for (int c = 0; c < 256; ++c) {
        const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                              c == '/';
        std::string s = good;
        s[10] = char(c);
        CAPTURE(c);
        CHECK(from_base64(out, s) == alphabet);
    }
    {
        std::string bad = good;
        bad[43] = 'A';  // no padding character at the end
        CHECK_FALSE(from_base64(out, bad));
    }
    // Non-canonical: the last digit's two spare bits must be zero.
    CHECK_FALSE(from_base64(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9="));
    const std::string hx = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    for (std::size_t i = 0; i < hx.size(); ++i) {
        for (char c : {'g', 'G', 'x', ' ', '-', '\0', ':', char(0xc3), char(0xff)}) {
            CAPTURE(i);
            CAPTURE(int(c));
            std::string bad = hx;
            bad[i] = c;
            CHECK_FALSE(from_hex(out, bad));
        }
    }
}
