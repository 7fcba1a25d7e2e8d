// Sign-in with the company's OpenID Connect provider, as a native app does
// (RFC 8252): authorization code with PKCE (S256) and a loopback redirect
// through the user's browser, or the device authorization grant (RFC 8628)
// for machines without one. The OIDC nonce is a controller challenge, so the
// ID token can be spent only once, by this device (docs/protocol.md).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "settings.h"
#include "ztna/result.h"

namespace ztna::agent {

struct OidcEndpoints {
    std::string authorization, token, device_authorization;
};

struct OidcTokens {
    std::string id_token, refresh_token;  // secrets: never logged
    std::int64_t expires_in = 0;
};

struct DeviceAuthorization {
    std::string device_code;  // secret
    std::string user_code, verification_uri, verification_uri_complete;
    std::int64_t expires_in = 600;
    int interval = 5;
};

// https://host[:port]/path?query split for httplib: base and the rest.
struct SplitUrl {
    std::string base, host, target;  // target: path and query ("/" at least)
    int port = 443;
};
Result<SplitUrl> split_https_url(const std::string& url);

std::string base64url(const std::uint8_t* data, std::size_t n);
std::string random_urlsafe(std::size_t bytes);
std::string pkce_challenge(const std::string& verifier);  // BASE64URL(SHA256(verifier))
std::string form_encode(const std::string& s);

class OidcClient {
public:
    explicit OidcClient(OidcSettings s) : s_(std::move(s)) {}
    Result<OidcEndpoints> discover() const;
    // grant_type=authorization_code with the PKCE verifier.
    Result<OidcTokens> exchange_code(const OidcEndpoints& ep, const std::string& code, const std::string& redirect_uri,
                                     const std::string& verifier) const;
    // grant_type=refresh_token: a fresh ID token (and maybe a rotated refresh token).
    Result<OidcTokens> refresh(const OidcEndpoints& ep, const std::string& refresh_token) const;
    Result<DeviceAuthorization> start_device(const OidcEndpoints& ep, const std::string& nonce) const;
    // nullopt while the user has not finished (authorization_pending, slow_down).
    // *slow_down: the provider asked to poll less often (add 5 s to the interval).
    Result<std::optional<OidcTokens>> poll_device(const OidcEndpoints& ep, const std::string& device_code,
                                                  bool* slow_down = nullptr) const;
    const OidcSettings& settings() const { return s_; }

private:
    Result<std::string> post_form(const std::string& url, const std::string& form, int* status) const;
    OidcSettings s_;
};

// The loopback half of the code flow: a one-shot HTTP listener on
// 127.0.0.1:<free port>/callback that takes the browser's redirect, checks
// state, and hands back the code. The page tells the user to go back.
class LoopbackLogin {
public:
    static Result<std::unique_ptr<LoopbackLogin>> start(const OidcEndpoints& ep, const OidcSettings& s, const std::string& nonce);
    ~LoopbackLogin();
    const std::string& authorization_url() const { return url_; }
    const std::string& redirect_uri() const { return redirect_; }
    const std::string& verifier() const { return verifier_; }
    // The code, once the browser came back; an error for a refusal
    // (error=access_denied...), a state mismatch, a timeout or cancel.
    Result<std::string> wait(std::chrono::seconds timeout, const std::atomic<bool>& cancel);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string url_, redirect_, verifier_;
};

}  // namespace ztna::agent
