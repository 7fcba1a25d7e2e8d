#include "id_token.h"

#include <openssl/crypto.h>

namespace ztna::controller::oidc {

namespace {

constexpr std::size_t kMaxTokenBytes = 16 * 1024;

struct Parts {
    std::string_view header_b64, payload_b64, signature_b64;
};

Result<Parts> split(std::string_view token) {
    if (token.size() > kMaxTokenBytes) return fail("malformed", "the ID token is larger than 16 KiB");
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
        return fail("malformed", "the ID token is not a compact JWS (three base64url parts joined by dots)");
    return Parts{token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
}

Result<json::Value> decode_part(std::string_view b64, const char* what) {
    auto raw = base64url_decode(b64);
    if (!raw) return fail("malformed", std::string("the ID token's ") + what + " is not base64url");
    auto v = json::parse(*raw, {.max_bytes = kMaxTokenBytes, .max_depth = 16});
    if (!v || !v->is_object()) return fail("malformed", std::string("the ID token's ") + what + " is not a JSON object");
    return v;
}

std::vector<std::string> strings_of(const json::Value* v) {
    std::vector<std::string> out;
    if (!v) return out;
    if (v->is_string()) out.push_back(v->as_string());
    if (v->is_array())
        for (const auto& s : v->as_array())
            if (s.is_string()) out.push_back(s.as_string());
    return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v)
        if (x == s) return true;
    return false;
}

std::string short_text(const std::string& s) { return s.size() > 80 ? s.substr(0, 80) + "..." : s; }

}  // namespace

std::optional<std::string> token_kid(std::string_view token) {
    auto parts = split(token);
    if (!parts) return std::nullopt;
    auto header = decode_part(parts->header_b64, "header");
    if (!header) return std::nullopt;
    const std::string* kid = header->string_at("kid");
    return kid ? std::optional<std::string>(*kid) : std::nullopt;
}

Result<IdClaims> verify_id_token(std::string_view token, const IssuerConfig& issuer, const std::vector<Jwk>& keys,
                                 std::int64_t now, std::optional<std::string_view> expected_nonce) {
    auto parts = split(token);
    if (!parts) return Unexpected<Error>{parts.error()};
    auto header = decode_part(parts->header_b64, "header");
    if (!header) return Unexpected<Error>{header.error()};
    const std::string* alg = header->string_at("alg");
    if (!alg || (*alg != "RS256" && *alg != "ES256"))
        return fail("unsupported_alg", "the ID token is signed with \"" + short_text(alg ? *alg : std::string("none")) +
                                           "\"; the controller accepts RS256 and ES256");
    auto signature = base64url_decode(parts->signature_b64);
    if (!signature) return fail("malformed", "the ID token's signature is not base64url");

    // Signature before claims: nothing unsigned is believed.
    const std::string* kid = header->string_at("kid");
    const std::string_view signing_input = token.substr(0, parts->header_b64.size() + 1 + parts->payload_b64.size());
    bool kid_known = false, verified = false;
    for (const auto& k : keys) {
        if (kid && k.kid != *kid) continue;
        if (k.alg != *alg) continue;
        kid_known = true;
        if (verify_jws_signature(k, *alg, signing_input, *signature)) {
            verified = true;
            break;
        }
    }
    if (!kid_known)
        return fail("unknown_kid", "no " + *alg + " key of the issuer's JWKS has the kid \"" + short_text(kid ? *kid : std::string()) + "\"");
    if (!verified) return fail("bad_signature", "the ID token's signature does not verify with the issuer's key");

    auto payload = decode_part(parts->payload_b64, "payload");
    if (!payload) return Unexpected<Error>{payload.error()};
    const json::Value& p = *payload;
    IdClaims c;
    const std::string* iss = p.string_at("iss");
    const std::string* sub = p.string_at("sub");
    const std::int64_t* exp = p.int_at("exp");
    const std::int64_t* iat = p.int_at("iat");
    if (!iss || !sub || sub->empty() || !exp || !iat)
        return fail("missing_claim", "the ID token lacks one of iss, sub, exp and iat");
    if (*iss != issuer.issuer)
        return fail("wrong_issuer", "the ID token was issued by \"" + short_text(*iss) + "\", not by \"" + issuer.issuer + "\"");
    const auto aud = strings_of(p.find("aud"));
    bool ours = false;
    for (const auto& id : issuer.client_ids) ours = ours || contains(aud, id);
    if (!ours) return fail("wrong_audience", "the ID token is not meant for this organization's client (aud does not name it)");
    if (aud.size() > 1) {
        const std::string* azp = p.string_at("azp");
        if (!azp || !contains(issuer.client_ids, *azp))
            return fail("wrong_audience", "the ID token has several audiences and its azp is not this organization's client");
    }
    const std::int64_t skew = issuer.max_clock_skew_s;
    // Times far outside any real clock would overflow the arithmetic below.
    constexpr std::int64_t kFar = std::int64_t(1) << 40;
    if (*exp < 0 || *exp > kFar || *iat < 0 || *iat > kFar) return fail("malformed", "the ID token's exp or iat is out of range");
    if (now >= *exp + skew) return fail("expired", "the ID token expired at " + std::to_string(*exp) + " (now " + std::to_string(now) + ")");
    if (const std::int64_t* nbf = p.int_at("nbf"); nbf && now + skew < std::min(*nbf, kFar))
        return fail("not_yet_valid", "the ID token is not valid before " + std::to_string(*nbf));
    if (*iat > now + skew) return fail("issued_in_future", "the ID token claims to be issued in the future (check the clocks)");
    if (*iat + issuer.max_token_age_s + skew < now)
        return fail("too_old", "the ID token was issued more than " + std::to_string(issuer.max_token_age_s) + " s ago");
    const std::string* nonce = p.string_at("nonce");
    const std::string no_nonce;
    if (!expected_nonce) {
        if (!nonce) nonce = &no_nonce;  // a refresh: the session already binds the sign-in
    } else if (!nonce && !issuer.require_nonce && !p.find("nonce")) {
        nonce = &no_nonce;  // a device-flow token (see IssuerConfig)
    } else if (!nonce || nonce->size() != expected_nonce->size() ||
        CRYPTO_memcmp(nonce->data(), expected_nonce->data(), expected_nonce->size()) != 0)
        return fail("nonce_mismatch", "the ID token's nonce is not the one the controller handed out for this sign-in");

    c.issuer = *iss;
    c.subject = *sub;
    c.nonce = *nonce;
    c.exp = *exp;
    c.iat = *iat;
    if (const std::string* e = p.string_at(issuer.email_claim)) c.email = *e;
    c.groups = strings_of(p.find(issuer.groups_claim));
    c.amr = strings_of(p.find("amr"));
    if (const std::string* acr = p.string_at("acr")) c.acr = *acr;
    if (const std::int64_t* at = p.int_at("auth_time")) c.auth_time = *at;
    return c;
}

}  // namespace ztna::controller::oidc
