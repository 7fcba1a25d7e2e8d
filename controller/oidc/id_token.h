// OpenID Connect ID token verification (OpenID Connect Core 1.0, 3.1.3.7):
// a compact JWS signed RS256 or ES256 by a key of the issuer's JWKS (chosen by
// kid), iss equal to the configured issuer, aud holding one of our client ids
// (and azp one of them when there are several audiences), exp, nbf and iat
// within a bounded clock skew, and the nonce the controller handed out.
//
// Every refusal has a stable code (Error::code): malformed, unsupported_alg,
// unknown_kid, bad_signature, wrong_issuer, wrong_audience, expired,
// not_yet_valid, issued_in_future, too_old, nonce_mismatch, missing_claim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jwk.h"

namespace ztna::controller::oidc {

struct IssuerConfig {
    std::string issuer;                  // exactly as in the tokens' iss
    std::vector<std::string> client_ids; // accepted audiences
    std::string groups_claim = "groups"; // a string array (or one string)
    std::string email_claim = "email";
    std::int64_t max_clock_skew_s = 60;
    std::int64_t max_token_age_s = 600;  // iat older than this is refused: ID tokens are used at once
    std::string ca_certificate;          // PEM file to verify the issuer's TLS with; empty: the system's
    bool allow_http = false;             // plain http discovery: for a lab on loopback only
    // An ID token with no nonce claim at all is accepted when false: some providers
    // (oidc-provider 9) leave the nonce out of device-flow tokens. A nonce that is
    // present must still match. The device's signature over the challenge and the
    // token's hash still binds the sign-in to this device and this challenge.
    bool require_nonce = true;
};

struct IdClaims {
    std::string issuer, subject, email, nonce, acr;
    std::vector<std::string> groups, amr;
    std::int64_t exp = 0, iat = 0;
    std::optional<std::int64_t> auth_time;
};

// The kid in the token's header, when it has one (to pick or refresh keys).
std::optional<std::string> token_kid(std::string_view token);

Result<IdClaims> verify_id_token(std::string_view token, const IssuerConfig& issuer, const std::vector<Jwk>& keys,
                                 std::int64_t now, std::optional<std::string_view> expected_nonce);
// expected_nonce nullopt: the nonce is not checked (a session refresh, whose token
// repeats the original sign-in's nonce or has none; docs/protocol.md).

}  // namespace ztna::controller::oidc
