// JSON Web Keys (RFC 7517/7518) as OpenSSL public keys, and JWS signature
// checks for the two algorithms the controller accepts: RS256 (RSA
// PKCS#1 v1.5 with SHA-256, 2048 bits at least) and ES256 (ECDSA P-256 with
// SHA-256, the signature as r||s).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ztna/json.h"
#include "ztna/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ztna::controller::oidc {

// Base64url without padding (RFC 7515, section 2); nothing on bad input.
Result<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view in);

struct Jwk {
    std::string kid;
    std::string alg;  // RS256 or ES256
    std::shared_ptr<EVP_PKEY> key;
};

// The usable signing keys of a JWKS document: RSA keys (kty RSA, n, e) and
// P-256 keys (kty EC, crv P-256, x, y) with use "sig" or no use. Other keys
// (encryption keys, other curves) are skipped; a document with no usable key,
// or that is not a JWKS, is an error.
Result<std::vector<Jwk>> parse_jwks(const json::Value& jwks);

// Checks signature over signing_input (header.payload) with key for alg.
bool verify_jws_signature(const Jwk& key, std::string_view alg, std::string_view signing_input, std::string_view signature);

}  // namespace ztna::controller::oidc
