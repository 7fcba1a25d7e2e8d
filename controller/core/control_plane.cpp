#include "control_plane.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <sys/stat.h>

#include <chrono>

#include "posture_report.h"
#include "tokens.h"

namespace ztna::controller {

std::int64_t system_clock_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

constexpr std::int64_t kChallengeTtlS = 300;
constexpr std::size_t kMaxChallenges = 100000;

ApiResponse bad_request(const std::string& message, const std::string& remediation = "See docs/protocol.md.") {
    return api_error(400, "bad_request", message, remediation);
}

ApiResponse store_failure() {
    return api_error(500, "store_error", "the controller could not read or write its database",
                     "Try again; administrators: see the controller's log.");
}

json::Value json_array_of(const std::vector<std::string>& v) {
    json::Array a;
    for (const auto& s : v) a.push_back(s);
    return a;
}

std::vector<std::string> strings_from_json_text(const std::string& text) {
    std::vector<std::string> out;
    auto v = json::parse(text, {.max_bytes = 1u << 16, .max_depth = 4});
    if (v && v->is_array())
        for (const auto& s : v->as_array())
            if (s.is_string()) out.push_back(s.as_string());
    return out;
}

bool valid_wireguard_key(const std::string& b64) {
    auto raw = posture::from_base64(b64);
    return raw && raw->size() == 32 && b64.size() == 44;
}

std::string port_text(const PortRange& p) {
    if (p.protocol == "icmp") return "icmp";
    return p.protocol + "/" + std::to_string(p.first) + (p.last != p.first ? "-" + std::to_string(p.last) : "");
}

// The unverified "iss" of a JWT, only to pick which issuer's keys verify it.
std::string peek_issuer(const std::string& token) {
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string::npos) return {};
    auto payload = oidc::base64url_decode(std::string_view(token).substr(d1 + 1, d2 - d1 - 1));
    if (!payload) return {};
    auto v = json::parse(*payload, {.max_bytes = 16384, .max_depth = 8});
    const std::string* iss = v ? v->string_at("iss") : nullptr;
    return iss ? *iss : std::string();
}

// The policy file's identity: time, size and inode (a rewrite within one
// timestamp tick still changes the size or, with rename, the inode).
std::string policy_file_key(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return "missing";
    return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_ino);
}

const Decision* find_decision(const std::vector<Decision>& ds, const std::string& app) {
    for (const auto& d : ds)
        if (d.app == app) return &d;
    return nullptr;
}

bool same_app(const App& a, const App& b, const Policy& pa, const Policy& pb) {
    if (a.gateway != b.gateway || a.addresses.size() != b.addresses.size() || a.ports.size() != b.ports.size()) return false;
    for (std::size_t i = 0; i < a.addresses.size(); ++i)
        if (a.addresses[i].text != b.addresses[i].text) return false;
    for (std::size_t i = 0; i < a.ports.size(); ++i)
        if (port_text(a.ports[i]) != port_text(b.ports[i])) return false;
    const Gateway* ga = pa.gateway(a.gateway);
    const Gateway* gb = pb.gateway(b.gateway);
    return ga && gb && ga->endpoint == gb->endpoint && ga->public_key == gb->public_key && ga->tunnel_network.text == gb->tunnel_network.text;
}

json::Value reasons_json(const std::vector<Denial>& reasons) {
    json::Array a;
    for (const auto& r : reasons)
        a.push_back(json::Object{{"code", r.code}, {"message", r.message}, {"remediation", r.remediation}});
    return a;
}

}  // namespace

ControlPlane::ControlPlane(ControllerConfig config, Store& store, Policy policy, Clock clock)
    : config_(std::move(config)), store_(store), clock_(std::move(clock)), policy_(std::move(policy)) {
    for (const auto& ic : config_.oidc_issuers) issuers_.push_back(std::make_unique<oidc::IssuerKeys>(ic));
    policy_file_key_ = config_.policy.empty() ? std::string() : policy_file_key(config_.policy);
}

Policy ControlPlane::policy() const {
    std::lock_guard lock(mu_);
    return policy_;
}

void ControlPlane::audit(const std::string& kind, const std::string& user, const std::string& device, const std::string& app,
                         const std::string& outcome, const std::string& reason, json::Object detail) {
    AuditEvent e;
    e.at = clock_();
    e.kind = kind;
    e.actor = "controller";
    e.user = user;
    e.device_id = device;
    e.app = app;
    e.outcome = outcome;
    e.reason = reason;
    e.detail = json::dump(json::Value(std::move(detail)));
    (void)store_.append_audit(e);
}

// ---- device challenges ------------------------------------------------------

ApiResponse ControlPlane::challenge(const json::Value& body) {
    const std::string* device_id = body.string_at("device_id");
    if (!device_id || device_id->empty() || device_id->size() > 64) return bad_request("\"device_id\" is missing");
    auto d = store_.find_device(*device_id);
    if (!d) return store_failure();
    if (!d->has_value())
        return api_error(404, "device_unknown", "no device is enrolled with the id " + device_id->substr(0, 64),
                         "Enroll this device again with a new enrollment token.");
    const std::int64_t now = clock_();
    unsigned char raw[24];
    randombytes_buf(raw, sizeof raw);
    const std::string nonce = oidc::base64url_encode(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
    {
        std::lock_guard lock(mu_);
        if (challenges_.size() >= kMaxChallenges) {
            for (auto it = challenges_.begin(); it != challenges_.end();)
                it = it->second.expires_at <= now ? challenges_.erase(it) : std::next(it);
            if (challenges_.size() >= kMaxChallenges)
                return api_error(503, "busy", "too many outstanding challenges", "Try again in a minute.");
        }
        challenges_[nonce] = Challenge{*device_id, now + kChallengeTtlS};
    }
    return api_ok(json::Object{{"nonce", nonce}, {"expires_at", now + kChallengeTtlS}});
}

Result<std::string> ControlPlane::take_challenge(const std::string& nonce, const std::string& device_id) {
    std::lock_guard lock(mu_);
    auto it = challenges_.find(nonce);
    if (it == challenges_.end()) return fail("challenge_invalid", "this nonce was not handed out by the controller, or was already used");
    const Challenge c = it->second;
    challenges_.erase(it);  // single use, whatever happens next
    if (c.device_id != device_id) return fail("challenge_invalid", "this nonce was handed out to another device");
    if (clock_() >= c.expires_at) return fail("challenge_invalid", "this nonce has expired; ask for a new one");
    return nonce;
}

// ---- sign-in ----------------------------------------------------------------

ApiResponse ControlPlane::sign_in(const json::Value& body) {
    const std::string* device_id = body.string_at("device_id");
    const std::string* nonce = body.string_at("nonce");
    const std::string* id_token = body.string_at("id_token");
    const std::string* signature = body.string_at("signature");
    if (!device_id || !nonce || !id_token || !signature)
        return bad_request("a sign-in needs device_id, nonce, id_token and signature");
    if (id_token->size() > 16384) return bad_request("\"id_token\" is larger than 16 KiB");
    if (auto c = take_challenge(*nonce, *device_id); !c)
        return api_error(401, c.error().code, "sign-in refused: " + c.error().message, "Start the sign-in again.");
    auto d = store_.find_device(*device_id);
    if (!d) return store_failure();
    if (!d->has_value()) return api_error(404, "device_unknown", "this device is not enrolled", "Enroll it again.");
    const Device& dev = **d;
    if (dev.revoked_at)
        return api_error(403, "device_revoked", "this device's enrollment was revoked by an administrator",
                         "Contact your IT helpdesk to enroll this device again.");
    auto pk = posture::from_base64(dev.public_key);
    auto sig = posture::from_base64(*signature);
    const std::string msg = "ztna-session-v1\n" + *nonce + "\n" + sha256_hex(*id_token);
    if (!pk || pk->size() != 32 || !sig || sig->size() != 64 ||
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                    reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                                    reinterpret_cast<const unsigned char*>(pk->data())) != 0)
        return api_error(401, "bad_proof", "the sign-in was not signed by this device's key",
                         "Sign in from the enrolled device itself (docs/protocol.md, Sign-in).");

    const std::string iss = peek_issuer(*id_token);
    oidc::IssuerKeys* issuer = nullptr;
    for (const auto& i : issuers_)
        if (i->config().issuer == iss) issuer = i.get();
    if (!issuer) {
        audit("sign_in", "", dev.id, "", "denied", "wrong_issuer");
        return api_error(401, "wrong_issuer", "the ID token comes from an identity provider this organization does not trust",
                         "Sign in with your organization's identity provider.");
    }
    auto claims = issuer->verify(*id_token, clock_(), *nonce);
    if (!claims) {
        audit("sign_in", "", dev.id, "", "denied", claims.error().code);
        const int status = claims.error().code == "issuer_unreachable" ? 503 : 401;
        return api_error(status, claims.error().code, "sign-in refused: " + claims.error().message,
                         status == 503 ? "Try again later: the identity provider cannot be reached."
                                       : "Sign in again; if it keeps failing, check this device's clock and tell your IT helpdesk.");
    }
    const std::string subject = claims->issuer + "|" + claims->subject;
    const std::int64_t now = clock_();
    auto user = store_.upsert_user(subject, claims->email, now);
    if (!user) return store_failure();
    if (user->disabled_at) {
        audit("sign_in", subject, dev.id, "", "denied", "user_disabled");
        return api_error(403, "user_disabled", "your account is disabled for remote access", "Contact your IT helpdesk.");
    }
    Session s;
    s.id = random_id("ses_");
    s.user = subject;
    s.device_id = dev.id;
    s.email = claims->email;
    s.groups = json::dump(json_array_of(claims->groups));
    s.amr = json::dump(json_array_of(claims->amr));
    s.created_at = now;
    s.expires_at = now + policy().settings.session_lifetime_s;
    const SecretString token = new_secret("ztna-session-");
    if (!store_.add_session(s, sha256_hex(token.reveal()))) return store_failure();
    audit("sign_in", subject, dev.id, "", "ok", "", json::Object{{"session_id", s.id}, {"groups", json_array_of(claims->groups)},
                                                                 {"amr", json_array_of(claims->amr)}});
    json::Object u{{"subject", subject}, {"email", claims->email}, {"groups", json_array_of(claims->groups)}};
    return api_ok(json::Object{{"session_token", token.reveal()},
                               {"session_id", s.id},
                               {"expires_at", s.expires_at},
                               {"user", json::Value(u)}},
                  201);
}

Result<Session> ControlPlane::authenticate(const std::string& bearer) {
    if (bearer.empty() || bearer.size() > 256) return fail("signed_out", "no session token was given");
    auto s = store_.find_session_by_token(sha256_hex(bearer));
    if (!s) return fail("store_error", "the controller could not read its database");
    if (!s->has_value()) return fail("signed_out", "this session is not known; sign in again");
    const Session& x = **s;
    if (x.ended_at) return fail("signed_out", "this session ended (" + x.end_reason + "); sign in again");
    if (clock_() >= x.expires_at) return fail("signed_out", "this session expired; sign in again");
    return x;
}

ApiResponse ControlPlane::refresh_session(const Session& s, const json::Value& body) {
    const std::string* nonce = body.string_at("nonce");
    const std::string* id_token = body.string_at("id_token");
    const std::string* signature = body.string_at("signature");
    if (!nonce || !id_token || !signature) return bad_request("a session refresh needs nonce, id_token and signature");
    if (id_token->size() > 16384) return bad_request("\"id_token\" is larger than 16 KiB");
    if (auto c = take_challenge(*nonce, s.device_id); !c)
        return api_error(401, c.error().code, "refresh refused: " + c.error().message, "Ask for a new challenge and try again.");
    auto d = store_.find_device(s.device_id);
    if (!d) return store_failure();
    if (!d->has_value() || (*d)->revoked_at)
        return api_error(403, "device_revoked", "this device's enrollment was revoked by an administrator",
                         "Contact your IT helpdesk to enroll this device again.");
    auto pk = posture::from_base64((*d)->public_key);
    auto sig = posture::from_base64(*signature);
    const std::string msg = "ztna-refresh-v1\n" + s.id + "\n" + *nonce + "\n" + sha256_hex(*id_token);
    if (!pk || pk->size() != 32 || !sig || sig->size() != 64 ||
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                    reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                                    reinterpret_cast<const unsigned char*>(pk->data())) != 0)
        return api_error(401, "bad_proof", "the refresh was not signed by this session's device", "Sign in again.");
    const std::string iss = peek_issuer(*id_token);
    oidc::IssuerKeys* issuer = nullptr;
    for (const auto& i : issuers_)
        if (i->config().issuer == iss) issuer = i.get();
    if (!issuer) return api_error(401, "wrong_issuer", "the ID token comes from an identity provider this organization does not trust", "Sign in again.");
    // The nonce of a refreshed ID token is the original sign-in's (or none): the session
    // token, the device's signature over a fresh challenge and the same subject bind it.
    auto claims = issuer->verify(*id_token, clock_(), std::nullopt);
    if (!claims) {
        audit("session_refreshed", s.user, s.device_id, "", "denied", claims.error().code);
        return api_error(claims.error().code == "issuer_unreachable" ? 503 : 401, claims.error().code,
                         "refresh refused: " + claims.error().message, "Sign in again.");
    }
    const std::string subject = claims->issuer + "|" + claims->subject;
    if (subject != s.user) {
        audit("session_refreshed", s.user, s.device_id, "", "denied", "wrong_user");
        return api_error(401, "wrong_user", "the ID token is for another user than this session's", "Sign in again.");
    }
    auto user = store_.find_user(subject);
    if (!user) return store_failure();
    if (!user->has_value() || (*user)->disabled_at)
        return api_error(403, "user_disabled", "your account is disabled for remote access", "Contact your IT helpdesk.");
    const std::int64_t expires = clock_() + policy().settings.session_lifetime_s;
    if (auto r = store_.extend_session(s.id, expires, json::dump(json_array_of(claims->groups)), json::dump(json_array_of(claims->amr)));
        !r)
        return r.error().code == "signed_out" ? api_error(401, "signed_out", "this session has ended", "Sign in again.") : store_failure();
    audit("session_refreshed", s.user, s.device_id, "", "ok", "", json::Object{{"session_id", s.id}, {"expires_at", expires}});
    // Groups or MFA may have changed with the new token: decisions follow.
    hub_.publish(session_topic(s.id), "access_changed", json::Object{{"cause", "session_refreshed"}});
    return api_ok(json::Object{{"session_id", s.id}, {"expires_at", expires}});
}

ApiResponse ControlPlane::logout(const Session& s) {
    std::lock_guard revocation(grant_mu_);
    const std::int64_t now = clock_();
    (void)store_.end_session(s.id, now, "signed_out");
    auto grants = store_.live_grants();
    if (grants)
        for (const auto& g : *grants)
            if (g.session_id == s.id) end_grant(g, "signed_out", "You signed out.");
    {
        std::lock_guard lock(mu_);
        sessions_.erase(s.id);
    }
    audit("sign_out", s.user, s.device_id, "", "ok", "");
    hub_.publish(session_topic(s.id), "session_ended", json::Object{{"reason", "signed_out"}});
    hub_.close_topic(session_topic(s.id));
    return api_ok(json::Object{{"session_id", s.id}, {"state", "ended"}});
}

// ---- decisions --------------------------------------------------------------

Subject ControlPlane::subject_of(const Session& s) {
    Subject who;
    who.user = s.user;
    who.email = s.email;
    who.groups = strings_from_json_text(s.groups);
    who.amr = strings_from_json_text(s.amr);
    auto u = store_.find_user(s.user);
    who.user_disabled = !u || !u->has_value() || (*u)->disabled_at.has_value();  // unreadable: fail closed
    auto d = store_.find_device(s.device_id);
    who.device_revoked = !d || !d->has_value() || (*d)->revoked_at.has_value();
    who.session_valid = !s.ended_at && clock_() < s.expires_at;
    return who;
}

PostureState ControlPlane::posture_of(const std::string& session_id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return {};
    if (clock_() > it->second.posture_at + policy_.settings.posture_max_age_s) return {};  // stale: as if missing
    return it->second.posture;
}

std::vector<Decision> ControlPlane::decisions_for(const Session& s) {
    const Subject who = subject_of(s);
    const PostureState posture = posture_of(s.id);
    std::lock_guard lock(mu_);
    return decide(policy_, who, posture, clock_());
}

ApiResponse ControlPlane::access(const Session& s, const json::Value& body) {
    const json::Value* report = body.find("report");
    if (!report || !report->is_object()) return bad_request("\"report\" (the signed posture report object) is missing");
    const json::Value* inner = report->find("report");
    const std::string* nonce = inner ? inner->string_at("nonce") : nullptr;
    if (!nonce) return bad_request("the posture report has no nonce");
    if (auto c = take_challenge(*nonce, s.device_id); !c)
        return api_error(401, c.error().code, "posture report refused: " + c.error().message,
                         "Ask for a new challenge (POST /v1/challenge) and sign a fresh report over it.");
    auto d = store_.find_device(s.device_id);
    if (!d || !d->has_value()) return store_failure();
    auto pk = posture::from_base64((*d)->public_key);
    if (!pk || pk->size() != 32) return store_failure();
    posture::DevicePublicKey key{};
    std::copy(pk->begin(), pk->end(), key.begin());
    posture::VerifyOptions opt;
    opt.expected_nonce = *nonce;
    opt.expected_device_id = s.device_id;
    opt.now = clock_();
    opt.max_age_s = policy().settings.posture_max_age_s;
    auto verified = posture::verify_report(json::dump(*report), key, opt);
    if (!verified) {
        audit("posture_report", s.user, s.device_id, "", "denied", "report_invalid", json::Object{{"error", verified.error().message}});
        return api_error(400, "report_invalid", "posture report refused: " + verified.error().message,
                         "Collect and sign a new report over a fresh challenge.");
    }
    PostureState ps;
    ps.present = true;
    json::Object summary;
    for (const auto& r : verified->results) {
        ps.checks[r.id] = PostureCheck{std::string(posture::status_name(r.status)), r.summary, r.remediation};
        summary[r.id] = std::string(posture::status_name(r.status));
    }
    {
        std::lock_guard lock(mu_);
        auto& st = sessions_[s.id];
        st.posture = ps;
        st.posture_at = clock_();
    }
    audit("posture_report", s.user, s.device_id, "", "ok", "", json::Object{{"checks", json::Value(summary)}});

    const auto decisions = decisions_for(s);
    // A grant this report no longer supports ends now.
    if (auto grants = store_.live_grants())
        for (const auto& g : *grants) {
            if (g.session_id != s.id) continue;
            for (const auto& dd : decisions)
                if (dd.app == g.app && !dd.allowed)
                    end_grant(g, dd.reasons.empty() ? "denied" : dd.reasons[0].code,
                              dd.reasons.empty() ? "Access was withdrawn." : dd.reasons[0].message,
                              dd.reasons.empty() ? "" : dd.reasons[0].remediation);
        }
    const Policy p = policy();
    json::Array apps;
    for (const auto& dd : decisions) {
        const App* app = p.app(dd.app);
        if (!app) continue;
        json::Array dns, addrs, ports;
        for (const auto& n : app->dns_names) dns.push_back(n);
        for (const auto& a : app->addresses) addrs.push_back(a.text);
        for (const auto& pr : app->ports) ports.push_back(port_text(pr));
        json::Object o{{"name", app->name},
                       {"description", app->description},
                       {"dns", json::Value(dns)},
                       {"addresses", json::Value(addrs)},
                       {"ports", json::Value(ports)},
                       {"allowed", dd.allowed},
                       {"reasons", reasons_json(dd.reasons)}};
        if (dd.allowed) o["rule"] = dd.rule;
        apps.push_back(json::Value(std::move(o)));
        // The audit log records each decision when it changes, not every minute.
        const std::string outcome = dd.allowed ? "allowed" : dd.reasons.empty() ? "denied" : dd.reasons[0].code;
        bool changed;
        {
            std::lock_guard lock(mu_);
            auto& last = sessions_[s.id].last_decision[dd.app];
            changed = last != outcome;
            last = outcome;
        }
        if (changed)
            audit("decision", s.user, s.device_id, dd.app, dd.allowed ? "allowed" : "denied", dd.allowed ? "" : outcome,
                  json::Object{{"rule", dd.rule}});
    }
    return api_ok(json::Object{{"posture_valid_until", clock_() + p.settings.posture_max_age_s}, {"apps", json::Value(apps)}});
}

// ---- grants -----------------------------------------------------------------

json::Value ControlPlane::grant_json(const Grant& g, const Policy& p) const {
    json::Object o{{"id", g.id},
                   {"app", g.app},
                   {"expires_at", g.expires_at},
                   {"tunnel_address", g.tunnel_address},
                   {"agent_public_key", g.agent_public_key},
                   {"user", g.user},
                   {"device_id", g.device_id}};
    if (const App* app = p.app(g.app)) {
        json::Array dns, addrs, ports;
        for (const auto& n : app->dns_names) dns.push_back(n);
        for (const auto& a : app->addresses) addrs.push_back(a.text);
        for (const auto& pr : app->ports) ports.push_back(port_text(pr));
        o["dns"] = json::Value(dns);
        o["addresses"] = json::Value(addrs);
        o["ports"] = json::Value(ports);
    }
    if (const Gateway* gw = p.gateway(g.gateway))
        o["gateway"] = json::Object{{"id", gw->id}, {"endpoint", gw->endpoint}, {"public_key", gw->public_key}};
    return o;
}

Result<std::string> ControlPlane::allocate_address(const Gateway& gw) {
    auto live = store_.live_grants();
    if (!live) return fail("store_error", "cannot list grants");
    std::set<std::string> used;
    for (const auto& g : *live)
        if (g.gateway == gw.id) used.insert(g.tunnel_address);
    const IpPrefix& net = gw.tunnel_network;
    const int bytes = net.v6 ? 16 : 4;
    const int host_bits = (net.v6 ? 128 : 32) - net.length;
    const std::uint64_t capacity = host_bits >= 32 ? (1ull << 32) : (1ull << host_bits);
    // .0 is the network, .1 the gateway's own address; the last is broadcast in IPv4.
    for (std::uint64_t off = 2; off + (net.v6 ? 0 : 1) < capacity; ++off) {
        unsigned char a[16];
        std::copy(net.addr, net.addr + 16, a);
        std::uint64_t carry = off;
        for (int i = bytes - 1; i >= 0 && carry; --i) {
            const std::uint64_t sum = a[i] + (carry & 0xff);
            a[i] = static_cast<unsigned char>(sum & 0xff);
            carry = (carry >> 8) + (sum >> 8);
        }
        char buf[64];
        inet_ntop(net.v6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
        const std::string text = std::string(buf) + (net.v6 ? "/128" : "/32");
        if (!used.count(text)) return text;
    }
    return fail("pool_exhausted", "no free address is left in " + net.text + " on gateway " + gw.id);
}

void ControlPlane::end_grant(const Grant& g, const std::string& reason, const std::string& message, const std::string& remediation) {
    auto ended = store_.end_grant(g.id, clock_(), reason);
    if (!ended) {
        revocation_pending_ = true;  // the store failed: the next tick tries again
        return;
    }
    if (!*ended) return;  // already ended
    audit("grant_ended", g.user, g.device_id, g.app, "ended", reason, json::Object{{"grant_id", g.id}});
    hub_.publish(session_topic(g.session_id), "grant_revoked",
                 json::Object{{"grant_id", g.id}, {"app", g.app}, {"reason", reason}, {"message", message}, {"remediation", remediation}});
    hub_.publish(gateway_topic(g.gateway), "grant_removed", json::Object{{"grant_id", g.id}, {"reason", reason}});
}

ApiResponse ControlPlane::create_grant(const Session& s, const json::Value& body) {
    const std::string* app_name = body.string_at("app");
    const std::string* key = body.string_at("public_key");
    if (!app_name || !key) return bad_request("a grant request needs \"app\" and \"public_key\"");
    if (!valid_wireguard_key(*key))
        return bad_request("\"public_key\" is not a WireGuard public key (44 characters of base64)",
                           "Generate a fresh key pair for this grant and send its public half.");
    const Policy p = policy();
    const App* app = p.app(*app_name);
    if (!app) return api_error(404, "app_unknown", "no app is named \"" + app_name->substr(0, 64) + "\"", "See GET apps via POST /v1/access.");
    const Gateway* gw = p.gateway(app->gateway);
    if (!gw) return store_failure();
    // Decide and write under the revocation lock, so a revocation running now
    // either sees this grant or this request sees the revocation.
    std::lock_guard revocation(grant_mu_);
    for (const auto& d : decisions_for(s)) {
        if (d.app != app->name) continue;
        if (!d.allowed) {
            audit("grant_denied", s.user, s.device_id, app->name, "denied", d.reasons.empty() ? "" : d.reasons[0].code);
            ApiResponse r = api_error(403, d.reasons.empty() ? "denied" : d.reasons[0].code,
                                      d.reasons.empty() ? "access denied" : d.reasons[0].message,
                                      d.reasons.empty() ? "" : d.reasons[0].remediation);
            r.body.as_object()["reasons"] = reasons_json(d.reasons);
            return r;
        }
    }
    // One live grant per app and session: a new request replaces the old one.
    if (auto live = store_.live_grants())
        for (const auto& g : *live)
            if (g.session_id == s.id && g.app == app->name) end_grant(g, "replaced", "A newer grant replaced this one.");
    const std::int64_t now = clock_();
    Grant g;
    g.session_id = s.id;
    g.user = s.user;
    g.device_id = s.device_id;
    g.app = app->name;
    g.gateway = gw->id;
    g.agent_public_key = *key;
    g.created_at = now;
    g.expires_at = std::min(now + p.settings.grant_ttl_s, s.expires_at);
    Result<void> added = fail("address_taken", "");
    for (int attempt = 0; attempt < 3 && !added && added.error().code == "address_taken"; ++attempt) {
        std::lock_guard lock(mu_);  // one allocation at a time
        auto addr = allocate_address(*gw);
        if (!addr) return api_error(503, addr.error().code, addr.error().message, "Try again later; administrators: widen the tunnel network.");
        g.id = random_id("gr_");
        g.tunnel_address = *addr;
        added = store_.add_grant(g);
    }
    if (!added) {
        if (added.error().code == "key_taken")
            return api_error(409, "key_taken", added.error().message, "Generate a fresh WireGuard key pair for each grant.");
        return store_failure();
    }
    audit("grant_created", s.user, s.device_id, app->name, "allowed", "", json::Object{{"grant_id", g.id}, {"expires_at", g.expires_at}});
    const json::Value gj = grant_json(g, p);
    hub_.publish(gateway_topic(gw->id), "grant_added", gj);
    return api_ok(gj, 201);
}

ApiResponse ControlPlane::renew_grant(const Session& s, const std::string& id) {
    auto found = store_.find_grant(id);
    if (!found) return store_failure();
    if (!found->has_value() || (*found)->session_id != s.id)
        return api_error(404, "grant_unknown", "no grant of this session has the id " + id.substr(0, 64), "Ask for a new grant.");
    const Grant& g = **found;
    if (g.ended_at)
        return api_error(410, "grant_ended", "this grant ended (" + g.end_reason + ")", "Ask for a new grant if access is still allowed.");
    if (g.expires_at <= clock_())
        return api_error(410, "grant_ended", "this grant has expired", "Ask for a new grant if access is still allowed.");
    std::lock_guard revocation(grant_mu_);
    const auto decisions = decisions_for(s);
    if (!find_decision(decisions, g.app)) {
        end_grant(g, "app_removed", "The app was removed from the policy.");
        return api_error(403, "app_removed", "the app " + g.app + " is no longer in the policy", "Nothing to do: it cannot be reached any more.");
    }
    for (const auto& d : decisions) {
        if (d.app != g.app || d.allowed) continue;
        end_grant(g, d.reasons.empty() ? "denied" : d.reasons[0].code, d.reasons.empty() ? "" : d.reasons[0].message,
                  d.reasons.empty() ? "" : d.reasons[0].remediation);
        ApiResponse r = api_error(403, d.reasons.empty() ? "denied" : d.reasons[0].code,
                                  d.reasons.empty() ? "access denied" : d.reasons[0].message,
                                  d.reasons.empty() ? "" : d.reasons[0].remediation);
        r.body.as_object()["reasons"] = reasons_json(d.reasons);
        return r;
    }
    const Policy p = policy();
    const std::int64_t expires = std::min(clock_() + p.settings.grant_ttl_s, s.expires_at);
    if (!store_.renew_grant(g.id, expires)) return store_failure();
    Grant renewed = g;
    renewed.expires_at = expires;
    const json::Value gj = grant_json(renewed, p);
    hub_.publish(gateway_topic(g.gateway), "grant_renewed", gj);
    return api_ok(gj);
}

ApiResponse ControlPlane::release_grant(const Session& s, const std::string& id) {
    auto found = store_.find_grant(id);
    if (!found) return store_failure();
    if (!found->has_value() || (*found)->session_id != s.id)
        return api_error(404, "grant_unknown", "no grant of this session has the id " + id.substr(0, 64), "Nothing to release.");
    end_grant(**found, "released", "The agent released this grant.");
    return api_ok(json::Object{{"id", id}, {"state", "ended"}});
}

// ---- gateways ---------------------------------------------------------------

std::optional<std::string> ControlPlane::authenticate_gateway(const std::string& bearer) const {
    if (bearer.empty() || bearer.size() > 256) return std::nullopt;
    const std::string h = sha256_hex(bearer);
    std::optional<std::string> who;
    for (const auto& [id, hash] : config_.gateway_tokens_sha256)
        if (equal_constant_time(h, hash)) who = id;  // no early exit: same time for every id
    return who;
}

ApiResponse ControlPlane::gateway_grants(const std::string& gateway_id) {
    auto live = store_.live_grants();
    if (!live) return store_failure();
    const Policy p = policy();
    const std::int64_t now = clock_();
    json::Array out;
    for (const auto& g : *live)
        if (g.gateway == gateway_id && g.expires_at > now) out.push_back(grant_json(g, p));
    json::Object o{{"gateway", gateway_id}, {"now", now}, {"grants", json::Value(out)}};
    if (const Gateway* gw = p.gateway(gateway_id)) o["tunnel_network"] = gw->tunnel_network.text;
    return api_ok(o);
}

ApiResponse ControlPlane::gateway_report(const std::string& gateway_id, const json::Value& body) {
    const json::Array* sessions = body.array_at("sessions");
    if (!sessions || sessions->size() > 1000) return bad_request("\"sessions\" must be a list of at most 1000 entries");
    int recorded = 0;
    for (const auto& e : *sessions) {
        const std::string* grant_id = e.string_at("grant_id");
        const std::string* event = e.string_at("event");
        if (!grant_id || !event || (*event != "start" && *event != "end")) continue;
        auto g = store_.find_grant(*grant_id);
        if (!g || !g->has_value() || (*g)->gateway != gateway_id) continue;
        json::Object detail{{"grant_id", *grant_id}, {"gateway", gateway_id}};
        for (const char* k : {"rx_bytes", "tx_bytes"})
            if (const std::int64_t* v = e.int_at(k)) detail[k] = *v;
        audit(*event == "start" ? "gateway_session_start" : "gateway_session_end", (*g)->user, (*g)->device_id, (*g)->app, "ok", "",
              std::move(detail));
        ++recorded;
    }
    return api_ok(json::Object{{"recorded", recorded}});
}

// ---- revocation, expiry, policy -------------------------------------------------

bool ControlPlane::reevaluate_all(const std::string& cause) {
    std::lock_guard revocation(grant_mu_);
    auto sessions = store_.live_sessions();
    auto grants = store_.live_grants();
    if (!sessions || !grants) {
        revocation_pending_ = true;  // fail closed: retried every second until it goes through
        return false;
    }
    std::map<std::string, Session> by_id;
    for (const auto& s : *sessions) by_id[s.id] = s;
    std::map<std::string, std::vector<Decision>> decided;
    for (const auto& g : *grants) {
        auto it = by_id.find(g.session_id);
        if (it == by_id.end()) {
            end_grant(g, "signed_out", "Your session ended.");
            continue;
        }
        auto& ds = decided[g.session_id];
        if (ds.empty()) ds = decisions_for(it->second);
        const Decision* d = find_decision(ds, g.app);
        if (!d) end_grant(g, "app_removed", "The app was removed from the policy.");
        else if (!d->allowed)
            end_grant(g, d->reasons.empty() ? cause : d->reasons[0].code, d->reasons.empty() ? "" : d->reasons[0].message,
                      d->reasons.empty() ? "" : d->reasons[0].remediation);
    }
    for (const auto& s : *sessions) hub_.publish(session_topic(s.id), "access_changed", json::Object{{"cause", cause}});
    return !revocation_pending_.load();
}

void ControlPlane::tick() {
    if (revocation_pending_.exchange(false)) reevaluate_all("retry");
    std::lock_guard revocation(grant_mu_);
    const std::int64_t now = clock_();
    if (auto grants = store_.live_grants())
        for (const auto& g : *grants)
            if (g.expires_at <= now) end_grant(g, "expired", "The grant expired without renewal.");
    if (auto sessions = store_.live_sessions())
        for (const auto& s : *sessions)
            if (s.expires_at <= now) {
                (void)store_.end_session(s.id, now, "expired");
                if (auto grants = store_.live_grants())
                    for (const auto& g : *grants)
                        if (g.session_id == s.id) end_grant(g, "session_expired", "Your session expired; sign in again.", "Sign in again: ztnactl login.");
                audit("session_expired", s.user, s.device_id, "", "ok", "");
                hub_.publish(session_topic(s.id), "session_ended", json::Object{{"reason", "expired"}});
                hub_.close_topic(session_topic(s.id));
                std::lock_guard lock(mu_);
                sessions_.erase(s.id);
            }
    std::lock_guard lock(mu_);
    for (auto it = challenges_.begin(); it != challenges_.end();)
        it = it->second.expires_at <= now ? challenges_.erase(it) : std::next(it);
}

Result<bool> ControlPlane::reload_policy_if_changed() {
    if (config_.policy.empty()) return false;
    const std::string key = policy_file_key(config_.policy);
    {
        std::lock_guard lock(mu_);
        if (key == policy_file_key_) return false;
        policy_file_key_ = key;  // a bad or missing file is reported once, not every second
    }
    if (key == "missing") return fail("invalid_policy", "the policy file " + config_.policy + " is missing; the previous policy stays in force");
    auto p = load_policy_file(config_.policy);
    if (!p) {
        audit("policy_rejected", "", "", "", "denied", "invalid_policy", json::Object{{"error", p.error().message}});
        return Unexpected<Error>{p.error()};
    }
    Policy old;
    {
        std::lock_guard lock(mu_);
        old = policy_;
        policy_ = *p;
    }
    audit("policy_loaded", "", "", "", "ok", "");
    // A live grant whose app changed (addresses, ports, gateway) no longer
    // matches what the gateway and the agent enforce: it ends, and the agent
    // asks again.
    if (auto grants = store_.live_grants()) {
        std::lock_guard revocation(grant_mu_);
        for (const auto& g : *grants) {
            const App* before = old.app(g.app);
            const App* after = p->app(g.app);
            if (before && after && !same_app(*before, *after, old, *p))
                end_grant(g, "policy_changed", "The app's definition changed; a new grant follows.");
        }
    }
    reevaluate_all("policy_changed");
    return true;
}

}  // namespace ztna::controller
