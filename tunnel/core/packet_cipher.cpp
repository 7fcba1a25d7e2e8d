#include "packet_cipher.h"

#include "crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>

namespace ztna::tunnel {

std::string_view to_string(AeadBackend b) {
    switch (b) {
        case AeadBackend::Libsodium: return "libsodium";
        case AeadBackend::OpenSsl: return "openssl";
        case AeadBackend::BySize: return "by-size";
    }
    return "unknown";
}

namespace {

class SodiumCipher final : public PacketCipher {
public:
    explicit SodiumCipher(const Key& k) : key_(k) {}
    void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* pt, std::size_t n) override {
        std::uint8_t nonce[12];
        crypto::counter_nonce(nonce, counter);
        unsigned long long maclen = 0;
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + n, &maclen, pt, n, nullptr, 0, nullptr, nonce,
                                                           key_.data());
    }
    bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ct, std::size_t n) override {
        if (n < 16) return false;
        std::uint8_t nonce[12];
        crypto::counter_nonce(nonce, counter);
        return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, ct, n - 16, ct + n - 16, nullptr, 0,
                                                                  nonce, key_.data()) == 0;
    }

private:
    Key key_;
};

class OpenSslCipher final : public PacketCipher {
public:
    // ok() is false where this OpenSSL lacks ChaCha20-Poly1305 (a FIPS-only
    // configuration, say): the caller then uses libsodium.
    explicit OpenSslCipher(const Key& k) {
        enc_ = EVP_CIPHER_CTX_new();
        dec_ = EVP_CIPHER_CTX_new();
        ok_ = enc_ && dec_ && EVP_EncryptInit_ex(enc_, EVP_chacha20_poly1305(), nullptr, k.data(), nullptr) == 1 &&
              EVP_DecryptInit_ex(dec_, EVP_chacha20_poly1305(), nullptr, k.data(), nullptr) == 1;
    }
    bool ok() const { return ok_; }
    ~OpenSslCipher() override {
        EVP_CIPHER_CTX_free(enc_);  // also cleanses the key schedule
        EVP_CIPHER_CTX_free(dec_);
    }
    void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* pt, std::size_t n) override {
        std::uint8_t nonce[12];
        crypto::counter_nonce(nonce, counter);
        int len = 0;
        EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce);
        if (n) EVP_EncryptUpdate(enc_, out, &len, pt, int(n));
        EVP_EncryptFinal_ex(enc_, out + len, &len);
        EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, 16, out + n);
    }
    bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ct, std::size_t n) override {
        if (n < 16) return false;
        std::uint8_t nonce[12];
        crypto::counter_nonce(nonce, counter);
        int len = 0;
        if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) != 1) return false;
        if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<std::uint8_t*>(ct + n - 16)) != 1)
            return false;
        if (n > 16 && EVP_DecryptUpdate(dec_, out, &len, ct, int(n - 16)) != 1) return false;
        return EVP_DecryptFinal_ex(dec_, out + len, &len) == 1;
    }

private:
    EVP_CIPHER_CTX* enc_ = nullptr;
    EVP_CIPHER_CTX* dec_ = nullptr;
    bool ok_ = false;
};

class BySizeCipher final : public PacketCipher {
public:
    BySizeCipher(const Key& k, std::unique_ptr<OpenSslCipher> large) : small_(k), large_(std::move(large)) {}
    void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* pt, std::size_t n) override {
        if (n < kBySizeOpenSslFrom)
            small_.seal(out, counter, pt, n);
        else
            large_->seal(out, counter, pt, n);
    }
    bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ct, std::size_t n) override {
        return n < kBySizeOpenSslFrom + 16 ? small_.open(out, counter, ct, n) : large_->open(out, counter, ct, n);
    }

private:
    SodiumCipher small_;
    std::unique_ptr<OpenSslCipher> large_;
};

}  // namespace

std::unique_ptr<PacketCipher> make_packet_cipher(AeadBackend backend, const Key& key) {
    if (backend != AeadBackend::Libsodium) {
        auto ossl = std::make_unique<OpenSslCipher>(key);
        if (ossl->ok()) {
            if (backend == AeadBackend::OpenSsl) return ossl;
            return std::make_unique<BySizeCipher>(key, std::move(ossl));
        }
    }
    return std::make_unique<SodiumCipher>(key);
}

bool openssl_chacha_available() {
    Key k;
    return OpenSslCipher(k).ok();
}

}  // namespace ztna::tunnel
