#include "jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace ztna::controller::oidc {

namespace {

int b64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM_BLD* bld) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
    EVP_PKEY* key = nullptr;
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();
    return key ? std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free) : nullptr;
}

Result<std::shared_ptr<EVP_PKEY>> rsa_key(const json::Value& k) {
    const std::string* n = k.string_at("n");
    const std::string* e = k.string_at("e");
    if (!n || !e) return fail("an RSA key without n or e");
    auto nb = base64url_decode(*n), eb = base64url_decode(*e);
    if (!nb || !eb || nb->empty() || eb->empty()) return fail("an RSA key whose n or e is not base64url");
    Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(nb->data()), int(nb->size()), nullptr));
    Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(eb->data()), int(eb->size()), nullptr));
    if (!bn_n || !bn_e) return fail("an RSA key that OpenSSL cannot read");
    if (BN_num_bits(bn_n.get()) < 2048) return fail("an RSA key shorter than 2048 bits");
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
    auto key = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    if (!key) return fail("an RSA key that OpenSSL refuses");
    return key;
}

Result<std::shared_ptr<EVP_PKEY>> ec_key(const json::Value& k) {
    const std::string* crv = k.string_at("crv");
    const std::string* x = k.string_at("x");
    const std::string* y = k.string_at("y");
    if (!crv || *crv != "P-256") return fail("an EC key on a curve other than P-256");
    if (!x || !y) return fail("an EC key without x or y");
    auto xb = base64url_decode(*x), yb = base64url_decode(*y);
    if (!xb || !yb || xb->size() != 32 || yb->size() != 32) return fail("an EC key whose x or y is not 32 bytes of base64url");
    std::string point = "\x04" + *xb + *yb;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    auto key = from_params("EC", bld);  // refuses a point that is not on the curve
    OSSL_PARAM_BLD_free(bld);
    if (!key) return fail("an EC key whose point is not on P-256");
    return key;
}

bool digest_verify(EVP_PKEY* key, std::string_view data, const unsigned char* sig, std::size_t sig_len) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

}  // namespace

Result<std::string> base64url_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = b64url_value(c);
        if (v < 0) return fail("not base64url: a character outside A-Z a-z 0-9 - _");
        acc = (acc << 6) | unsigned(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char((acc >> bits) & 0xff);
        }
    }
    if (in.size() % 4 == 1) return fail("not base64url: a length that no bytes encode to");
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return fail("not base64url: trailing bits are not zero");
    return out;
}

std::string base64url_encode(std::string_view in) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
    return out;
}

Result<std::vector<Jwk>> parse_jwks(const json::Value& jwks) {
    const json::Array* keys = jwks.array_at("keys");
    if (!keys) return fail("not a JWKS document: no \"keys\" array");
    std::vector<Jwk> out;
    std::string skipped;
    for (const auto& k : *keys) {
        if (!k.is_object()) continue;
        const std::string* kty = k.string_at("kty");
        const std::string* use = k.string_at("use");
        const std::string* kid = k.string_at("kid");
        const std::string* alg = k.string_at("alg");
        if (use && *use != "sig") continue;
        Jwk j;
        j.kid = kid ? *kid : "";
        Result<std::shared_ptr<EVP_PKEY>> key = fail("unsupported key type");
        if (kty && *kty == "RSA") {
            if (alg && *alg != "RS256") continue;
            j.alg = "RS256";
            key = rsa_key(k);
        } else if (kty && *kty == "EC") {
            if (alg && *alg != "ES256") continue;
            j.alg = "ES256";
            key = ec_key(k);
        } else {
            continue;
        }
        if (!key) {
            skipped += (skipped.empty() ? "" : "; ") + std::string("kid \"") + j.kid.substr(0, 60) + "\": " + key.error().message;
            continue;
        }
        j.key = *key;
        out.push_back(std::move(j));
    }
    if (out.empty())
        return fail("the JWKS holds no usable RS256 or ES256 signing key" + (skipped.empty() ? std::string() : " (" + skipped + ")"));
    return out;
}

bool verify_jws_signature(const Jwk& key, std::string_view alg, std::string_view signing_input, std::string_view signature) {
    if (!key.key || alg != key.alg) return false;
    if (alg == "RS256") {
        return digest_verify(key.key.get(), signing_input, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size());
    }
    if (alg == "ES256") {
        if (signature.size() != 64) return false;
        const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG* sig = ECDSA_SIG_new();
        BIGNUM* r = BN_bin2bn(p, 32, nullptr);
        BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
        if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(sig);
            return false;
        }
        unsigned char* der = nullptr;
        const int der_len = i2d_ECDSA_SIG(sig, &der);
        ECDSA_SIG_free(sig);
        const bool ok = der_len > 0 && digest_verify(key.key.get(), signing_input, der, std::size_t(der_len));
        OPENSSL_free(der);
        return ok;
    }
    return false;
}

}  // namespace ztna::controller::oidc
