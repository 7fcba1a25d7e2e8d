#include "oidc_client.h"

#include <httplib.h>
#include <sodium.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "ztna/https_url.h"
#include "ztna/json.h"

namespace ztna::agent {

Result<SplitUrl> split_https_url(const std::string& url) {
    const std::string scheme = "https://";
    if (url.rfind(scheme, 0) != 0) return fail("\"" + url + "\" is not an https:// URL");
    const auto slash = url.find_first_of("/?", scheme.size());
    SplitUrl s;
    s.base = slash == std::string::npos ? url : url.substr(0, slash);
    s.target = slash == std::string::npos ? "/" : url.substr(slash);
    if (s.target[0] == '?') s.target = "/" + s.target;
    auto u = parse_https_url(s.base);
    if (!u) return Unexpected<Error>{u.error()};
    s.host = u->host;
    s.port = u->port;
    return s;
}

std::string base64url(const std::uint8_t* data, std::size_t n) {
    std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::string random_urlsafe(std::size_t bytes) {
    std::vector<std::uint8_t> b(bytes);
    randombytes_buf(b.data(), b.size());
    return base64url(b.data(), b.size());
}

std::string pkce_challenge(const std::string& verifier) {
    std::uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const std::uint8_t*>(verifier.data()), verifier.size());
    return base64url(h, sizeof h);
}

std::string form_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += char(c);
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

namespace {

std::unique_ptr<httplib::SSLClient> idp_client(const SplitUrl& u, const OidcSettings& s) {
    auto c = std::make_unique<httplib::SSLClient>(u.host, u.port);
    c->set_ca_cert_path(s.ca.empty() ? "/etc/ssl/certs/ca-certificates.crt" : s.ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(10, 0);
    return c;
}

std::string idp_error(const std::string& body) {
    auto v = json::parse(body, {.max_bytes = 1u << 20, .max_depth = 8});
    if (!v) return "";
    const std::string* e = v->string_at("error");
    const std::string* d = v->string_at("error_description");
    return (e ? *e : "") + (d ? ": " + *d : "");
}

Result<OidcTokens> tokens_from(const std::string& body) {
    auto v = json::parse(body, {.max_bytes = 1u << 20, .max_depth = 8});
    const std::string* id = v ? v->string_at("id_token") : nullptr;
    if (!id) return fail("the identity provider's token answer has no id_token (is \"openid\" among oidc.scopes?)");
    OidcTokens t;
    t.id_token = *id;
    if (const std::string* r = v->string_at("refresh_token")) t.refresh_token = *r;
    if (const std::int64_t* e = v->int_at("expires_in")) t.expires_in = *e;
    return t;
}

}  // namespace

Result<OidcEndpoints> OidcClient::discover() const {
    std::string issuer = s_.issuer;
    while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
    auto u = split_https_url(issuer + "/.well-known/openid-configuration");
    if (!u) return fail("oidc.issuer: " + u.error().message);
    auto c = idp_client(*u, s_);
    auto r = c->Get(u->target);
    if (!r) return fail("unreachable", "cannot reach the identity provider " + s_.issuer + ": " + httplib::to_string(r.error()) +
                                           (r.error() == httplib::Error::SSLServerVerification ? " (its certificate is not trusted; set oidc.ca)" : ""));
    if (r->status != 200) return fail("the identity provider " + s_.issuer + " has no discovery document (HTTP " + std::to_string(r->status) + ")");
    auto v = json::parse(r->body, {.max_bytes = 1u << 20, .max_depth = 16});
    if (!v || !v->is_object()) return fail("the identity provider's discovery document is not JSON");
    const std::string* iss = v->string_at("issuer");
    if (!iss || (*iss != s_.issuer && *iss != issuer))
        return fail("the discovery document of " + s_.issuer + " names another issuer (" + (iss ? *iss : "none") + "); check oidc.issuer");
    OidcEndpoints ep;
    if (const std::string* a = v->string_at("authorization_endpoint")) ep.authorization = *a;
    if (const std::string* t = v->string_at("token_endpoint")) ep.token = *t;
    if (const std::string* d = v->string_at("device_authorization_endpoint")) ep.device_authorization = *d;
    if (ep.authorization.empty() || ep.token.empty())
        return fail("the identity provider's discovery document lacks authorization_endpoint or token_endpoint");
    return ep;
}

Result<std::string> OidcClient::post_form(const std::string& url, const std::string& form, int* status) const {
    auto u = split_https_url(url);
    if (!u) return fail("identity provider endpoint: " + u.error().message);
    auto c = idp_client(*u, s_);
    auto r = c->Post(u->target, form, "application/x-www-form-urlencoded");
    if (!r) return fail("unreachable", "cannot reach the identity provider at " + u->base + ": " + httplib::to_string(r.error()));
    *status = r->status;
    return r->body;
}

Result<OidcTokens> OidcClient::exchange_code(const OidcEndpoints& ep, const std::string& code, const std::string& redirect_uri,
                                             const std::string& verifier) const {
    int status = 0;
    auto body = post_form(ep.token,
                          "grant_type=authorization_code&code=" + form_encode(code) + "&redirect_uri=" + form_encode(redirect_uri) +
                              "&client_id=" + form_encode(s_.client_id) + "&code_verifier=" + form_encode(verifier),
                          &status);
    if (!body) return Unexpected<Error>{body.error()};
    if (status != 200) return fail("the identity provider refused the sign-in code (HTTP " + std::to_string(status) + " " + idp_error(*body) + "); sign in again");
    return tokens_from(*body);
}

Result<OidcTokens> OidcClient::refresh(const OidcEndpoints& ep, const std::string& refresh_token) const {
    int status = 0;
    auto body = post_form(ep.token,
                          "grant_type=refresh_token&refresh_token=" + form_encode(refresh_token) + "&client_id=" + form_encode(s_.client_id),
                          &status);
    if (!body) return Unexpected<Error>{body.error()};
    if (status != 200)
        return fail("refused", "the identity provider refused to refresh the sign-in (HTTP " + std::to_string(status) + " " + idp_error(*body) + ")");
    return tokens_from(*body);
}

Result<DeviceAuthorization> OidcClient::start_device(const OidcEndpoints& ep, const std::string& nonce) const {
    if (ep.device_authorization.empty())
        return fail("the identity provider " + s_.issuer + " does not offer the device authorization grant; sign in with a browser instead");
    int status = 0;
    auto body = post_form(ep.device_authorization,
                          "client_id=" + form_encode(s_.client_id) + "&scope=" + form_encode(s_.scopes) + "&nonce=" + form_encode(nonce),
                          &status);
    if (!body) return Unexpected<Error>{body.error()};
    if (status != 200) return fail("the identity provider refused the device sign-in (HTTP " + std::to_string(status) + " " + idp_error(*body) + ")");
    auto v = json::parse(*body, {.max_bytes = 1u << 20, .max_depth = 8});
    const std::string* dc = v ? v->string_at("device_code") : nullptr;
    const std::string* uc = v ? v->string_at("user_code") : nullptr;
    const std::string* vu = v ? v->string_at("verification_uri") : nullptr;
    if (!dc || !uc || !vu) return fail("the identity provider's device authorization answer lacks device_code, user_code or verification_uri");
    DeviceAuthorization d;
    d.device_code = *dc;
    d.user_code = *uc;
    d.verification_uri = *vu;
    if (const std::string* c = v->string_at("verification_uri_complete")) d.verification_uri_complete = *c;
    if (const std::int64_t* e = v->int_at("expires_in")) d.expires_in = *e;
    if (const std::int64_t* i = v->int_at("interval"); i && *i > 0 && *i < 60) d.interval = int(*i);
    return d;
}

Result<std::optional<OidcTokens>> OidcClient::poll_device(const OidcEndpoints& ep, const std::string& device_code,
                                                          bool* slow_down) const {
    int status = 0;
    auto body = post_form(ep.token,
                          "grant_type=" + form_encode("urn:ietf:params:oauth:grant-type:device_code") +
                              "&device_code=" + form_encode(device_code) + "&client_id=" + form_encode(s_.client_id),
                          &status);
    if (!body) return Unexpected<Error>{body.error()};
    if (status == 200) {
        auto t = tokens_from(*body);
        if (!t) return Unexpected<Error>{t.error()};
        return std::optional<OidcTokens>(std::move(*t));
    }
    const std::string e = idp_error(*body);
    if (e.rfind("slow_down", 0) == 0 && slow_down) *slow_down = true;
    if (e.rfind("authorization_pending", 0) == 0 || e.rfind("slow_down", 0) == 0) return std::optional<OidcTokens>();
    return fail("the device sign-in ended: " + (e.empty() ? "HTTP " + std::to_string(status) : e));
}

struct LoopbackLogin::Impl {
    httplib::Server server;
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::string code, error;
    std::string state;
};

Result<std::unique_ptr<LoopbackLogin>> LoopbackLogin::start(const OidcEndpoints& ep, const OidcSettings& s, const std::string& nonce) {
    auto l = std::unique_ptr<LoopbackLogin>(new LoopbackLogin());
    l->impl_ = std::make_unique<Impl>();
    Impl& im = *l->impl_;
    im.state = random_urlsafe(24);
    l->verifier_ = random_urlsafe(48);
    im.server.Get("/callback", [&im](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(im.mu);
        if (im.done) {
            res.set_content("This sign-in is already finished; you can close this window.\n", "text/plain");
            return;
        }
        if (req.get_param_value("state") != im.state) {
            res.status = 400;
            res.set_content("This sign-in link is not the one the ZTNA agent started (state mismatch). Start again with `ztnactl login`.\n", "text/plain");
            return;  // a stray or forged redirect does not end the wait
        }
        if (req.has_param("error")) {
            im.error = "the identity provider refused the sign-in: " + req.get_param_value("error") +
                       (req.has_param("error_description") ? " (" + req.get_param_value("error_description") + ")" : "");
            res.set_content("Sign-in refused: " + im.error + ". Close this window and try again.\n", "text/plain");
        } else if (req.get_param_value("code").empty()) {
            im.error = "the identity provider's redirect carried no code";
            res.status = 400;
            res.set_content("Sign-in failed: no code. Close this window and try again.\n", "text/plain");
        } else {
            im.code = req.get_param_value("code");
            res.set_content("Signed in. You can close this window and go back to your apps.\n", "text/plain");
        }
        im.done = true;
        im.cv.notify_all();
    });
    const int port = im.server.bind_to_any_port("127.0.0.1");
    if (port <= 0) return fail("cannot listen on 127.0.0.1 for the sign-in redirect");
    l->redirect_ = "http://127.0.0.1:" + std::to_string(port) + "/callback";
    im.thread = std::thread([&im] { im.server.listen_after_bind(); });
    const char sep = ep.authorization.find('?') == std::string::npos ? '?' : '&';
    l->url_ = ep.authorization + sep + "response_type=code&client_id=" + form_encode(s.client_id) +
              "&redirect_uri=" + form_encode(l->redirect_) + "&scope=" + form_encode(s.scopes) + "&state=" + im.state +
              "&nonce=" + form_encode(nonce) + "&code_challenge=" + pkce_challenge(l->verifier_) +
              "&code_challenge_method=S256&prompt=consent";
    return l;
}

LoopbackLogin::~LoopbackLogin() {
    if (!impl_) return;
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::string> LoopbackLogin::wait(std::chrono::seconds timeout, const std::atomic<bool>& cancel) {
    std::unique_lock lock(impl_->mu);
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!impl_->done) {
        if (cancel) return fail("cancelled", "the sign-in was cancelled");
        if (std::chrono::steady_clock::now() >= until)
            return fail("timeout", "the browser did not come back within " + std::to_string(timeout.count()) + " s; run `ztnactl login` again");
        impl_->cv.wait_for(lock, std::chrono::milliseconds(200));
    }
    if (!impl_->error.empty()) return fail("refused", impl_->error);
    return impl_->code;
}

}  // namespace ztna::agent
