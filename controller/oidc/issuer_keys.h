// One trusted OpenID Connect issuer: its discovery document
// (ISSUER/.well-known/openid-configuration) and its JWKS, fetched over HTTPS
// when first needed and again when a token names a kid we do not have (key
// rotation), at most once a minute; a failed fetch is retried after 10 s.
// Fetches run without holding the lock, so one slow issuer does not
// serialize every sign-in behind it.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "id_token.h"

namespace ztna::controller::oidc {

class IssuerKeys {
public:
    explicit IssuerKeys(IssuerConfig config) : config_(std::move(config)) {}

    const IssuerConfig& config() const { return config_; }

    // Verifies an ID token of this issuer; an unknown kid refreshes the JWKS
    // once (rate-limited) and tries again.
    Result<IdClaims> verify(std::string_view token, std::int64_t now, std::optional<std::string_view> expected_nonce);

    static constexpr std::int64_t kMinRefreshIntervalS = 60;
    static constexpr std::int64_t kRetryAfterFailureS = 10;

private:
    Result<std::vector<Jwk>> fetch_keys();

    IssuerConfig config_;
    std::mutex mu_;
    std::vector<Jwk> keys_;
    std::int64_t fetched_at_ = 0;
    bool fetched_ = false;
    bool fetching_ = false;
};

// GET url (https://, or http:// when allowed) and parse its JSON body, at most
// 1 MiB, verifying TLS with ca_file (empty: the system's trust store).
Result<json::Value> fetch_json(const std::string& url, const std::string& ca_file, bool allow_http);

}  // namespace ztna::controller::oidc
