// A test identity provider: RSA and P-256 signing keys made with OpenSSL, a
// JWKS built from them, ID tokens signed with them, and an HTTPS server on
// loopback serving the discovery document and the JWKS (certificate from the
// controller's PKI). Its keys can be rotated while it runs.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ztna/json.h"

typedef struct evp_pkey_st EVP_PKEY;
namespace httplib {
class SSLServer;
}

struct TestKey {
    std::string kid, alg;  // RS256 or ES256
    std::shared_ptr<EVP_PKEY> key;
    static TestKey rsa(const std::string& kid, int bits = 2048);
    static TestKey ec(const std::string& kid);
    ztna::json::Value jwk() const;
};

// header.payload.signature, signed by key (alg and kid from it unless overridden).
std::string sign_jwt(const TestKey& key, const ztna::json::Value& payload, const std::string& alg_override = {},
                     const std::string& kid_override = {});

class TestIdp {
public:
    explicit TestIdp(const std::string& dir);  // writes ca.pem there
    ~TestIdp();
    std::string issuer() const;                 // https://127.0.0.1:PORT
    std::string ca_file() const { return ca_file_; }
    void set_keys(std::vector<TestKey> keys);  // what the JWKS serves from now on
    int jwks_fetches() const {
        std::lock_guard lock(mu_);
        return jwks_fetches_;
    }

private:
    std::unique_ptr<httplib::SSLServer> http_;
    std::thread thread_;
    int port_ = 0;
    std::string ca_file_;
    mutable std::mutex mu_;
    std::vector<TestKey> keys_;
    int jwks_fetches_ = 0;
};
