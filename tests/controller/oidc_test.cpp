// ID token verification with keys made here and served from a JWKS over
// HTTPS: RS256 and ES256 pass; expired, early, future, stale, wrong issuer,
// wrong audience, bad signature, unknown kid, wrong nonce, alg "none" and
// garbage are refused with their code; a rotated key is fetched once.
#include <doctest/doctest.h>

#include "issuer_keys.h"
#include "test_dir.h"
#include "test_idp.h"

using namespace ztna;
using namespace ztna::controller::oidc;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

json::Object claims(const std::string& iss) {
    json::Object c;
    c["iss"] = iss;
    c["sub"] = "user-42";
    c["aud"] = "ztna-agent";
    c["exp"] = kNow + 600;
    c["iat"] = kNow - 5;
    c["nonce"] = "n-123";
    c["email"] = "alice@corp.test";
    c["groups"] = json::Array{"hr", "staff"};
    c["amr"] = json::Array{"pwd", "otp"};
    return c;
}

IssuerConfig config_for(const TestIdp& idp) {
    IssuerConfig c;
    c.issuer = idp.issuer();
    c.client_ids = {"ztna-agent"};
    c.ca_certificate = idp.ca_file();
    return c;
}

std::string code_of(const Result<IdClaims>& r) { return r ? "(accepted)" : r.error().code; }

}  // namespace

TEST_CASE("oidc: RS256 and ES256 ID tokens from the issuer's JWKS verify, with their claims") {
    TestDir dir;
    TestIdp idp(dir.path);
    const auto rsa = TestKey::rsa("r1"), ec = TestKey::ec("e1");
    idp.set_keys({rsa, ec});
    IssuerKeys keys(config_for(idp));
    for (const auto* k : {&rsa, &ec}) {
        CAPTURE(k->alg);
        auto r = keys.verify(sign_jwt(*k, json::Value(claims(idp.issuer()))), kNow, "n-123");
        REQUIRE_MESSAGE(r, r.error().message);
        CHECK(r->subject == "user-42");
        CHECK(r->email == "alice@corp.test");
        CHECK(r->groups == std::vector<std::string>{"hr", "staff"});
        CHECK(r->amr == std::vector<std::string>{"pwd", "otp"});
    }
    CHECK(idp.jwks_fetches() == 1);  // cached
}

TEST_CASE("oidc: every way an ID token can be wrong is refused with its own code") {
    TestDir dir;
    TestIdp idp(dir.path);
    const auto rsa = TestKey::rsa("r1");
    idp.set_keys({rsa});
    IssuerKeys keys(config_for(idp));
    const auto with = [&](const char* key, json::Value v) {
        auto c = claims(idp.issuer());
        if (v.is_null()) c.erase(key);
        else c[key] = std::move(v);
        return sign_jwt(rsa, json::Value(c));
    };
    CHECK(code_of(keys.verify(with("exp", json::Value(kNow - 61)), kNow, "n-123")) == "expired");
    CHECK(code_of(keys.verify(with("exp", json::Value(kNow - 30)), kNow, "n-123")) == "(accepted)");  // within the skew
    CHECK(code_of(keys.verify(with("nbf", json::Value(kNow + 120)), kNow, "n-123")) == "not_yet_valid");
    CHECK(code_of(keys.verify(with("iat", json::Value(kNow + 120)), kNow, "n-123")) == "issued_in_future");
    CHECK(code_of(keys.verify(with("iat", json::Value(kNow - 3600)), kNow, "n-123")) == "too_old");
    CHECK(code_of(keys.verify(with("iss", json::Value("https://evil.test")), kNow, "n-123")) == "wrong_issuer");
    CHECK(code_of(keys.verify(with("aud", json::Value("other-app")), kNow, "n-123")) == "wrong_audience");
    CHECK(code_of(keys.verify(with("aud", json::Value(json::Array{"ztna-agent", "other"})), kNow, "n-123")) == "wrong_audience");
    CHECK(code_of(keys.verify(with("sub", json::Value()), kNow, "n-123")) == "missing_claim");
    CHECK(code_of(keys.verify(with("nonce", json::Value("n-999")), kNow, "n-123")) == "nonce_mismatch");
    CHECK(code_of(keys.verify(with("nonce", json::Value()), kNow, "n-123")) == "nonce_mismatch");
    {
        // require_nonce false: a token without any nonce passes; a wrong or empty one still does not.
        auto relaxed_cfg = config_for(idp);
        relaxed_cfg.require_nonce = false;
        IssuerKeys relaxed(relaxed_cfg);
        CHECK(code_of(relaxed.verify(with("nonce", json::Value()), kNow, "n-123")) == "(accepted)");
        CHECK(code_of(relaxed.verify(with("nonce", json::Value("n-999")), kNow, "n-123")) == "nonce_mismatch");
        CHECK(code_of(relaxed.verify(with("nonce", json::Value("")), kNow, "n-123")) == "nonce_mismatch");
        CHECK(code_of(relaxed.verify(with("nonce", json::Value(5)), kNow, "n-123")) == "nonce_mismatch");
        CHECK(code_of(relaxed.verify(with("nonce", json::Value("n-123")), kNow, "n-123")) == "(accepted)");
    }

    // Signed by a key the issuer does not publish, under its kid: bad signature.
    const auto imposter = TestKey::rsa("r1");
    CHECK(code_of(keys.verify(sign_jwt(imposter, json::Value(claims(idp.issuer()))), kNow, "n-123")) == "bad_signature");
    // A payload changed after signing.
    std::string token = sign_jwt(rsa, json::Value(claims(idp.issuer())));
    const auto d1 = token.find('.'), d2 = token.find('.', d1 + 1);
    auto evil = claims(idp.issuer());
    evil["groups"] = json::Array{"admins"};
    const std::string tampered = token.substr(0, d1 + 1) + base64url_encode(json::dump(json::Value(evil))) + token.substr(d2);
    CHECK(code_of(keys.verify(tampered, kNow, "n-123")) == "bad_signature");
    // alg none, HS256 (a key confusion attempt), garbage.
    const std::string none = base64url_encode("{\"alg\":\"none\",\"kid\":\"r1\"}") + "." +
                             base64url_encode(json::dump(json::Value(claims(idp.issuer())))) + ".";
    CHECK(code_of(keys.verify(none, kNow, "n-123")) == "unsupported_alg");
    CHECK(code_of(keys.verify(sign_jwt(rsa, json::Value(claims(idp.issuer())), "HS256"), kNow, "n-123")) == "unsupported_alg");
    for (const std::string& g : {std::string(), std::string("a.b"), std::string("a.b.c.d"), std::string("!!.??.%%"),
                                 std::string(20000, 'A') + ".e30.", std::string("e30.e30.e30")}) {
        CAPTURE(g.substr(0, 40));
        auto r = keys.verify(g, kNow, "n-123");
        CHECK(!r);
    }
    // An ES256 token under an RSA kid: no such ES256 key.
    const auto ec = TestKey::ec("r1");
    CHECK(code_of(keys.verify(sign_jwt(ec, json::Value(claims(idp.issuer()))), kNow, "n-123")) == "unknown_kid");
}

TEST_CASE("oidc: a new kid after key rotation is fetched once a minute at most") {
    TestDir dir;
    TestIdp idp(dir.path);
    const auto old_key = TestKey::rsa("2026-11"), new_key = TestKey::rsa("2026-12");
    idp.set_keys({old_key});
    IssuerKeys keys(config_for(idp));
    REQUIRE(keys.verify(sign_jwt(old_key, json::Value(claims(idp.issuer()))), kNow, "n-123"));
    idp.set_keys({new_key});
    const std::string fresh = sign_jwt(new_key, json::Value(claims(idp.issuer())));
    CHECK(code_of(keys.verify(fresh, kNow + 10, "n-123")) == "unknown_kid");  // too soon to refetch
    CHECK(idp.jwks_fetches() == 1);
    CHECK(code_of(keys.verify(fresh, kNow + 61, "n-123")) == "(accepted)");
    CHECK(idp.jwks_fetches() == 2);
}

TEST_CASE("oidc: an unreachable or untrusted issuer is refused with the reason") {
    TestDir dir;
    TestIdp idp(dir.path);
    const auto rsa = TestKey::rsa("r1");
    idp.set_keys({rsa});
    auto cfg = config_for(idp);
    cfg.ca_certificate = "";  // the system's trust store does not know the test CA
    IssuerKeys untrusted(cfg);
    auto r = untrusted.verify(sign_jwt(rsa, json::Value(claims(idp.issuer()))), kNow, "n-123");
    REQUIRE(!r);
    CHECK(r.error().code == "issuer_unreachable");
    IssuerConfig gone;
    gone.issuer = "https://127.0.0.1:1";
    gone.client_ids = {"ztna-agent"};
    IssuerKeys unreachable(gone);
    CHECK(code_of(unreachable.verify("a.b.c", kNow, "n")) == "issuer_unreachable");
    IssuerConfig plain;
    plain.issuer = "http://127.0.0.1:1";
    IssuerKeys http(plain);
    auto h = http.verify("a.b.c", kNow, "n");
    REQUIRE(!h);
    CHECK(h.error().message.find("only https://") != std::string::npos);
}

TEST_CASE("oidc: JWKS documents with short RSA keys, off-curve points or nothing usable are refused") {
    CHECK(!parse_jwks(json::Value(json::Object{})));
    CHECK(!parse_jwks(json::Value(json::Object{{"keys", json::Array{}}})));
    auto small = TestKey::rsa("s", 1024).jwk();
    auto r = parse_jwks(json::Value(json::Object{{"keys", json::Array{small}}}));
    REQUIRE(!r);
    CHECK(r.error().message.find("2048") != std::string::npos);
    auto ec = TestKey::ec("e").jwk();
    ec.as_object()["y"] = base64url_encode(std::string(32, '\x01'));
    CHECK(!parse_jwks(json::Value(json::Object{{"keys", json::Array{ec}}})));
    auto enc = TestKey::rsa("x").jwk();
    enc.as_object()["use"] = "enc";
    CHECK(!parse_jwks(json::Value(json::Object{{"keys", json::Array{enc}}})));
    CHECK(base64url_decode("a").error().message.find("length") != std::string::npos);
    CHECK(*base64url_decode(base64url_encode("hello?>")) == "hello?>");
}
