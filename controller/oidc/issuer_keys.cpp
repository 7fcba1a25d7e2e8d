#include "issuer_keys.h"

#include <httplib.h>

namespace ztna::controller::oidc {

Result<json::Value> fetch_json(const std::string& url, const std::string& ca_file, bool allow_http) {
    const bool https = url.rfind("https://", 0) == 0;
    const bool http = url.rfind("http://", 0) == 0;
    if (!https && !(http && allow_http))
        return fail("refusing to fetch " + url + ": only https:// is allowed (allow_http is for a lab on loopback)");
    const std::size_t scheme_len = https ? 8 : 7;
    const auto slash = url.find('/', scheme_len);
    const std::string origin = url.substr(0, slash);
    const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
    httplib::Client cli(origin);
    if (!cli.is_valid()) return fail("cannot fetch " + url + ": not a URL this client can use");
    if (https) {
        if (!ca_file.empty()) cli.set_ca_cert_path(ca_file.c_str());
        cli.enable_server_certificate_verification(true);
    }
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(10, 0);
    std::string body;
    constexpr std::size_t kMax = 1u << 20;
    bool too_big = false;
    auto r = cli.Get(path, [&](const char* data, std::size_t n) {
        if (body.size() + n > kMax) {
            too_big = true;
            return false;
        }
        body.append(data, n);
        return true;
    });
    if (too_big) return fail("the answer of " + url + " is larger than 1 MiB");
    if (!r) return fail("cannot fetch " + url + ": " + httplib::to_string(r.error()));
    if (r->status != 200) return fail("fetching " + url + " answered HTTP " + std::to_string(r->status));
    auto v = json::parse(body, {.max_bytes = kMax, .max_depth = 32});
    if (!v) return fail("the answer of " + url + " is not JSON: " + v.error().message);
    return v;
}

Result<std::vector<Jwk>> IssuerKeys::fetch_keys() {
    std::string base = config_.issuer;
    if (!base.empty() && base.back() == '/') base.pop_back();
    const std::string discovery_url = base + "/.well-known/openid-configuration";
    auto discovery = fetch_json(discovery_url, config_.ca_certificate, config_.allow_http);
    if (!discovery) return Unexpected<Error>{discovery.error()};
    const std::string* iss = discovery->string_at("issuer");
    if (!iss || *iss != config_.issuer)
        return fail("the discovery document of " + config_.issuer + " names another issuer (\"" +
                    (iss ? iss->substr(0, 100) : std::string()) + "\"); check the issuer URL in controller.json");
    const std::string* jwks_uri = discovery->string_at("jwks_uri");
    if (!jwks_uri) return fail("the discovery document of " + config_.issuer + " has no jwks_uri");
    auto jwks = fetch_json(*jwks_uri, config_.ca_certificate, config_.allow_http);
    if (!jwks) return Unexpected<Error>{jwks.error()};
    auto keys = parse_jwks(*jwks);
    if (!keys) return fail("the JWKS of " + config_.issuer + ": " + keys.error().message);
    return keys;
}

Result<IdClaims> IssuerKeys::verify(std::string_view token, std::int64_t now, std::optional<std::string_view> expected_nonce) {
    // Keys are fetched without holding the lock (a fetch may take seconds);
    // fetches, failed or not, happen at most once a minute.
    std::vector<Jwk> keys;
    bool may_fetch = false;
    {
        std::lock_guard lock(mu_);
        keys = keys_;
        // The first fetch, or a retry 10 s after one that failed.
        may_fetch = !fetching_ && (!fetched_ || (keys.empty() && now - fetched_at_ >= kRetryAfterFailureS));
        if (may_fetch) fetching_ = true;
    }
    const auto refresh = [&]() -> Result<void> {
        auto k = fetch_keys();
        std::lock_guard lock(mu_);
        fetching_ = false;
        fetched_ = true;
        fetched_at_ = now;
        if (!k) return Unexpected<Error>{k.error()};
        keys_ = *k;
        keys = std::move(*k);
        return {};
    };
    if (may_fetch) {
        if (auto r = refresh(); !r)
            return fail("issuer_unreachable", "cannot get the signing keys of " + config_.issuer + ": " + r.error().message);
    }
    if (keys.empty())
        return fail("issuer_unreachable", "the signing keys of " + config_.issuer + " could not be fetched; retrying every 10 s");
    auto r = verify_id_token(token, config_, keys, now, expected_nonce);
    if (!r && r.error().code == "unknown_kid") {
        bool again = false;
        {
            std::lock_guard lock(mu_);
            again = !fetching_ && now - fetched_at_ >= kMinRefreshIntervalS;
            if (again) fetching_ = true;
        }
        // The issuer may have rotated its keys: fetch once more.
        if (again && refresh()) r = verify_id_token(token, config_, keys, now, expected_nonce);
    }
    return r;
}

}  // namespace ztna::controller::oidc
