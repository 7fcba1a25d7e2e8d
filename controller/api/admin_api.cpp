#include "admin_api.h"

#include <charconv>

#include "tokens.h"

namespace ztna::controller {

namespace {

json::Value opt(const std::optional<std::int64_t>& v) { return v ? json::Value(*v) : json::Value(); }
json::Value opt(const std::optional<std::string>& v) { return v ? json::Value(*v) : json::Value(); }

ApiResponse store_failed(const Error& e) {
    if (e.code == "not_found") return api_error(404, "not_found", e.message, "Check the id with the matching list command.");
    if (e.code == "ambiguous") return api_error(409, "ambiguous", e.message, "Use the user's subject instead of the email.");
    return api_error(500, "store_error", "the controller could not read or write its database",
                     "Try again; if it persists, see the controller's log.");
}

bool parse_int(const std::string& s, std::int64_t& out) {
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc() && p == end && !s.empty();
}

std::string token_state(const EnrollmentToken& t, std::int64_t now) {
    if (t.revoked_at) return "revoked";
    if (t.used_at) return "used";
    if (now >= t.expires_at) return "expired";
    return "active";
}

}  // namespace

ApiResponse admin_create_token(AdminContext& c, const json::Value& body) {
    if (!body.is_object())
        return api_error(400, "bad_request", "the request must be a JSON object", "Send {\"ttl_s\": 3600, \"label\": \"...\"}.");
    std::int64_t ttl = 3600;
    if (const auto* t = body.find("ttl_s")) {
        if (!t->is_int() || t->as_int() < 60 || t->as_int() > c.max_token_ttl_s)
            return api_error(400, "bad_request",
                             "\"ttl_s\" must be an integer from 60 to " + std::to_string(c.max_token_ttl_s) + " seconds",
                             "Pick a lifetime in that range: tokens are meant to be short-lived.");
        ttl = t->as_int();
    }
    std::string label;
    if (const auto* l = body.find("label")) {
        if (!l->is_string() || l->as_string().size() > 200)
            return api_error(400, "bad_request", "\"label\" must be a string of at most 200 characters", "Shorten the label.");
        label = l->as_string();
    }
    EnrollmentToken t;
    t.id = random_id("tok_");
    t.label = label;
    t.created_at = c.now;
    t.expires_at = c.now + ttl;
    const SecretString secret = new_secret("ztna-enroll-");
    if (auto r = c.store.add_enrollment_token(t, sha256_hex(secret.reveal())); !r) return store_failed(r.error());
    AuditEvent e;
    e.at = c.now;
    e.kind = "token_created";
    e.actor = "admin";
    e.outcome = "ok";
    e.detail = json::dump(json::Object{{"token_id", t.id}, {"expires_at", t.expires_at}});
    (void)c.store.append_audit(e);
    json::Object o;
    o["id"] = t.id;
    o["token"] = secret.reveal();  // shown once, to the admin who asked
    o["label"] = t.label;
    o["expires_at"] = t.expires_at;
    return api_ok(json::Value(std::move(o)), 201);
}

ApiResponse admin_list_tokens(AdminContext& c) {
    auto r = c.store.list_enrollment_tokens();
    if (!r) return store_failed(r.error());
    json::Array a;
    for (const auto& t : *r) {
        json::Object o;
        o["id"] = t.id;
        o["label"] = t.label;
        o["created_at"] = t.created_at;
        o["expires_at"] = t.expires_at;
        o["used_at"] = opt(t.used_at);
        o["used_by_device"] = opt(t.used_by_device);
        o["revoked_at"] = opt(t.revoked_at);
        o["state"] = token_state(t, c.now);
        a.push_back(json::Value(std::move(o)));
    }
    return api_ok(json::Object{{"tokens", json::Value(std::move(a))}});
}

ApiResponse admin_revoke_token(AdminContext& c, const std::string& id) {
    if (auto r = c.store.revoke_enrollment_token(id, c.now); !r) return store_failed(r.error());
    AuditEvent e;
    e.at = c.now;
    e.kind = "token_revoked";
    e.actor = "admin";
    e.outcome = "ok";
    e.detail = json::dump(json::Object{{"token_id", id}});
    (void)c.store.append_audit(e);
    return api_ok(json::Object{{"id", id}, {"state", "revoked"}});
}

ApiResponse admin_list_devices(AdminContext& c) {
    auto r = c.store.list_devices();
    if (!r) return store_failed(r.error());
    json::Array a;
    for (const auto& d : *r) {
        json::Object o;
        o["id"] = d.id;
        o["hostname"] = d.hostname;
        o["platform"] = d.platform;
        o["public_key"] = d.public_key;
        o["enrolled_at"] = d.enrolled_at;
        o["token_id"] = d.token_id;
        o["revoked_at"] = opt(d.revoked_at);
        o["state"] = d.revoked_at ? "revoked" : "active";
        a.push_back(json::Value(std::move(o)));
    }
    return api_ok(json::Object{{"devices", json::Value(std::move(a))}});
}

ApiResponse admin_revoke_device(AdminContext& c, const std::string& id) {
    if (auto r = c.store.revoke_device(id, c.now); !r) return store_failed(r.error());
    AuditEvent e;
    e.at = c.now;
    e.kind = "device_revoked";
    e.actor = "admin";
    e.device_id = id;
    e.outcome = "ok";
    (void)c.store.append_audit(e);
    return api_ok(json::Object{{"id", id}, {"state", "revoked"}});
}

ApiResponse admin_list_users(AdminContext& c) {
    auto r = c.store.list_users();
    if (!r) return store_failed(r.error());
    json::Array a;
    for (const auto& u : *r) {
        json::Object o;
        o["subject"] = u.subject;
        o["email"] = u.email;
        o["first_seen"] = u.first_seen;
        o["disabled_at"] = opt(u.disabled_at);
        o["state"] = u.disabled_at ? "disabled" : "enabled";
        a.push_back(json::Value(std::move(o)));
    }
    return api_ok(json::Object{{"users", json::Value(std::move(a))}});
}

ApiResponse admin_set_user_disabled(AdminContext& c, const std::string& who, bool disabled) {
    if (auto r = c.store.set_user_disabled(who, disabled, c.now); !r) return store_failed(r.error());
    AuditEvent e;
    e.at = c.now;
    e.kind = disabled ? "user_disabled" : "user_enabled";
    e.actor = "admin";
    e.user = who;
    e.outcome = "ok";
    (void)c.store.append_audit(e);
    return api_ok(json::Object{{"user", who}, {"state", disabled ? "disabled" : "enabled"}});
}

ApiResponse admin_audit(AdminContext& c, const std::map<std::string, std::string>& params) {
    AuditQuery q;
    for (const auto& [k, v] : params) {
        if (k == "user") {
            q.user = v;
            // A user is recorded by subject; an email is translated when it names exactly one.
            if (v.find('|') == std::string::npos) {
                auto users = c.store.list_users();
                if (!users) return store_failed(users.error());
                int matches = 0;
                for (const auto& u : *users)
                    if (u.email == v) {
                        q.user = u.subject;
                        ++matches;
                    }
                if (matches > 1) return api_error(409, "ambiguous", "several users have the email " + v.substr(0, 100), "Filter by subject.");
            }
        }
        else if (k == "app") q.app = v;
        else if (k == "device") q.device_id = v;
        else if (k == "since") {
            std::int64_t s;
            if (!parse_int(v, s) || s < 0)
                return api_error(400, "bad_request", "\"since\" must be Unix seconds, got \"" + v.substr(0, 40) + "\"",
                                 "Pass since as a whole number of seconds since 1970.");
            q.since = s;
        } else if (k == "limit") {
            std::int64_t l;
            if (!parse_int(v, l) || l < 1 || l > 10000)
                return api_error(400, "bad_request", "\"limit\" must be from 1 to 10000", "Pass a smaller limit.");
            q.limit = std::size_t(l);
        } else {
            return api_error(400, "bad_request", "unknown audit filter \"" + k.substr(0, 40) + "\"",
                             "Use user, app, device, since or limit.");
        }
    }
    auto r = c.store.query_audit(q);
    if (!r) return store_failed(r.error());
    json::Array a;
    for (const auto& e : *r) {
        json::Object o;
        o["id"] = e.id;
        o["at"] = e.at;
        o["kind"] = e.kind;
        o["actor"] = e.actor;
        o["user"] = e.user;
        o["device_id"] = e.device_id;
        o["app"] = e.app;
        o["outcome"] = e.outcome;
        o["reason"] = e.reason;
        auto detail = json::parse(e.detail, {.max_bytes = 1u << 16, .max_depth = 8});
        o["detail"] = detail ? std::move(*detail) : json::Value(json::Object{});
        a.push_back(json::Value(std::move(o)));
    }
    return api_ok(json::Object{{"events", json::Value(std::move(a))}});
}

}  // namespace ztna::controller
