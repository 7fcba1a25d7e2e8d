#include "test_idp.h"

#include <httplib.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <stdexcept>

#include "jwk.h"
#include "pki.h"
#include "test_dir.h"

using namespace ztna;
using ztna::controller::oidc::base64url_encode;

namespace {

std::string bn_param(EVP_PKEY* k, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error("EVP_PKEY_get_bn_param");
    std::string out(std::size_t(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
}

std::string ec_coord(EVP_PKEY* k, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error("EVP_PKEY_get_bn_param");
    std::string out(32, '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_free(bn);
    return out;
}

}  // namespace

TestKey TestKey::rsa(const std::string& kid, int bits) {
    TestKey k;
    k.kid = kid;
    k.alg = "RS256";
    k.key.reset(EVP_RSA_gen(unsigned(bits)), EVP_PKEY_free);
    if (!k.key) throw std::runtime_error("EVP_RSA_gen");
    return k;
}

TestKey TestKey::ec(const std::string& kid) {
    TestKey k;
    k.kid = kid;
    k.alg = "ES256";
    k.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!k.key) throw std::runtime_error("EVP_EC_gen");
    return k;
}

json::Value TestKey::jwk() const {
    json::Object o;
    o["kid"] = kid;
    o["use"] = "sig";
    o["alg"] = alg;
    if (alg == "RS256") {
        o["kty"] = "RSA";
        o["n"] = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N));
        o["e"] = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E));
    } else {
        o["kty"] = "EC";
        o["crv"] = "P-256";
        o["x"] = base64url_encode(ec_coord(key.get(), OSSL_PKEY_PARAM_EC_PUB_X));
        o["y"] = base64url_encode(ec_coord(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y));
    }
    return o;
}

std::string sign_jwt(const TestKey& key, const json::Value& payload, const std::string& alg_override,
                     const std::string& kid_override) {
    json::Object h;
    h["alg"] = alg_override.empty() ? key.alg : alg_override;
    h["typ"] = "JWT";
    h["kid"] = kid_override.empty() ? key.kid : kid_override;
    const std::string input = base64url_encode(json::dump(json::Value(h))) + "." + base64url_encode(json::dump(payload));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.key.get());
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (key.alg == "ES256") {  // DER ECDSA-Sig-Value to JOSE r||s
        const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
        ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
        std::string rs(64, '\0');
        BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(rs.data()), 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
        ECDSA_SIG_free(s);
        sig = rs;
    }
    return input + "." + base64url_encode(sig);
}

TestIdp::TestIdp(const std::string& dir) {
    auto ca = ztna::controller::pki::make_ca("Test IdP CA", 2);
    if (!ca) throw std::runtime_error(ca.error().message);
    auto srv = ztna::controller::pki::issue_server_certificate(*ca, "127.0.0.1", {"127.0.0.1"}, 2);
    if (!srv) throw std::runtime_error(srv.error().message);
    ca_file_ = dir + "/idp-ca.pem";
    write_file(ca_file_, ca->cert_pem);
    write_file(dir + "/idp.pem", srv->cert_pem);
    write_file(dir + "/idp.key", srv->key_pem.reveal());
    http_ = std::make_unique<httplib::SSLServer>((dir + "/idp.pem").c_str(), (dir + "/idp.key").c_str());
    if (!http_->is_valid()) throw std::runtime_error("test IdP: TLS set-up failed");
    port_ = http_->bind_to_any_port("127.0.0.1");
    http_->Get("/.well-known/openid-configuration", [this](const httplib::Request&, httplib::Response& res) {
        json::Object o;
        o["issuer"] = issuer();
        o["jwks_uri"] = issuer() + "/jwks";
        o["id_token_signing_alg_values_supported"] = json::Array{"RS256", "ES256"};
        res.set_content(json::dump(json::Value(o)), "application/json");
    });
    http_->Get("/jwks", [this](const httplib::Request&, httplib::Response& res) {
        std::lock_guard lock(mu_);
        ++jwks_fetches_;
        json::Array keys;
        for (const auto& k : keys_) keys.push_back(k.jwk());
        res.set_content(json::dump(json::Value(json::Object{{"keys", json::Value(keys)}})), "application/json");
    });
    thread_ = std::thread([this] { http_->listen_after_bind(); });
    while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TestIdp::~TestIdp() {
    http_->stop();
    thread_.join();
}

std::string TestIdp::issuer() const { return "https://127.0.0.1:" + std::to_string(port_); }

void TestIdp::set_keys(std::vector<TestKey> keys) {
    std::lock_guard lock(mu_);
    keys_ = std::move(keys);
}
