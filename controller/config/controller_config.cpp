#include "controller_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

namespace ztna::controller {

namespace {

std::string absolute_in(const std::string& dir, const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    return dir + "/" + p;
}

}  // namespace

Result<ControllerConfig> load_controller_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail("cannot read the controller configuration " + path + ": " + std::strerror(errno) +
                    ". Point --dir (or ZTNA_CONTROLLER_DIR) at the directory `ztna-admin init` made, or make one with it");
    std::ostringstream ss;
    ss << in.rdbuf();
    auto v = json::parse(ss.str(), {.max_bytes = 1u << 20, .max_depth = 16});
    if (!v) return fail(path + ": not valid JSON: " + v.error().message);
    if (!v->is_object()) return fail(path + ": expected a JSON object");
    ControllerConfig c;
    const auto slash = path.rfind('/');
    c.dir = slash == std::string::npos ? "." : path.substr(0, slash);
    static const char* const kKnown[] = {"listen_address", "listen_port", "public_url", "database", "tls_certificate",
                                         "tls_key", "ca_certificate", "admin_token_sha256", "enrollment_token_max_ttl_s",
                                         "policy", "oidc_issuers", "gateway_tokens_sha256"};
    for (const auto& m : v->as_object()) {
        bool known = false;
        for (const char* k : kKnown) known = known || m.first == k;
        if (!known) return fail(path + ": unknown field \"" + m.first + "\" (is it misspelled?)");
    }
    const auto need_string = [&](const char* key, std::string& into, bool required) -> Result<void> {
        const json::Value* f = v->find(key);
        if (!f) {
            if (required) return fail(path + ": the field \"" + std::string(key) + "\" is missing");
            return {};
        }
        if (!f->is_string() || f->as_string().empty())
            return fail(path + ": the field \"" + std::string(key) + "\" must be a non-empty string");
        into = f->as_string();
        return {};
    };
    for (auto [key, into, required] : {std::tuple{"listen_address", &c.listen_address, false},
                                       std::tuple{"public_url", &c.public_url, true},
                                       std::tuple{"database", &c.database, true},
                                       std::tuple{"tls_certificate", &c.tls_certificate, true},
                                       std::tuple{"tls_key", &c.tls_key, true},
                                       std::tuple{"ca_certificate", &c.ca_certificate, true},
                                       std::tuple{"admin_token_sha256", &c.admin_token_sha256, true},
                                       std::tuple{"policy", &c.policy, true}}) {
        if (auto r = need_string(key, *into, required); !r) return Unexpected<Error>{r.error()};
    }
    if (const auto* p = v->find("listen_port")) {
        if (!p->is_int() || p->as_int() < 1 || p->as_int() > 65535)
            return fail(path + ": the field \"listen_port\" must be an integer from 1 to 65535");
        c.listen_port = int(p->as_int());
    }
    if (const auto* t = v->find("enrollment_token_max_ttl_s")) {
        if (!t->is_int() || t->as_int() < 60 || t->as_int() > 365 * 86400)
            return fail(path + ": the field \"enrollment_token_max_ttl_s\" must be an integer from 60 to 31536000");
        c.enrollment_token_max_ttl_s = t->as_int();
    }
    if (c.admin_token_sha256.size() != 64 || c.admin_token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
        return fail(path + ": the field \"admin_token_sha256\" must be 64 lowercase hex digits");
    if (c.public_url.rfind("https://", 0) != 0)
        return fail(path + ": the field \"public_url\" must start with https:// (the controller speaks only TLS)");
    const auto is_hash = [](const std::string& h) {
        return h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string::npos;
    };
    if (const auto* g = v->find("gateway_tokens_sha256")) {
        if (!g->is_object()) return fail(path + ": the field \"gateway_tokens_sha256\" must be an object of gateway id to SHA-256");
        for (const auto& [id, h] : g->as_object()) {
            if (!h.is_string() || !is_hash(h.as_string()))
                return fail(path + ": gateway_tokens_sha256.\"" + id + "\" must be 64 lowercase hex digits");
            c.gateway_tokens_sha256[id] = h.as_string();
        }
    }
    if (const auto* list = v->find("oidc_issuers")) {
        if (!list->is_array()) return fail(path + ": the field \"oidc_issuers\" must be a list");
        for (std::size_t i = 0; i < list->as_array().size(); ++i) {
            const auto& o = list->as_array()[i];
            const std::string at = path + ": oidc_issuers[" + std::to_string(i) + "]";
            if (!o.is_object()) return fail(at + " must be an object");
            oidc::IssuerConfig ic;
            for (const auto& [k, val] : o.as_object()) {
                if (k == "issuer" && val.is_string()) ic.issuer = val.as_string();
                else if (k == "groups_claim" && val.is_string()) ic.groups_claim = val.as_string();
                else if (k == "email_claim" && val.is_string()) ic.email_claim = val.as_string();
                else if (k == "ca_certificate" && val.is_string()) ic.ca_certificate = absolute_in(c.dir, val.as_string());
                else if (k == "allow_http" && val.is_bool()) ic.allow_http = val.as_bool();
                else if (k == "require_nonce" && val.is_bool()) ic.require_nonce = val.as_bool();
                else if (k == "max_clock_skew_s" && val.is_int() && val.as_int() >= 0 && val.as_int() <= 600) ic.max_clock_skew_s = val.as_int();
                else if (k == "client_ids" && val.is_array()) {
                    for (const auto& id : val.as_array())
                        if (id.is_string() && !id.as_string().empty()) ic.client_ids.push_back(id.as_string());
                } else {
                    return fail(at + ": \"" + k + "\" is unknown or has the wrong type (issuer, client_ids, groups_claim, "
                                "email_claim, ca_certificate, allow_http, require_nonce, max_clock_skew_s)");
                }
            }
            if (ic.issuer.empty()) return fail(at + ": \"issuer\" is missing");
            if (ic.client_ids.empty()) return fail(at + ": \"client_ids\" must list the OIDC client ids the agents use");
            if (ic.issuer.rfind("https://", 0) != 0 && !(ic.allow_http && ic.issuer.rfind("http://", 0) == 0))
                return fail(at + ": \"issuer\" must be an https:// URL");
            c.oidc_issuers.push_back(std::move(ic));
        }
    }
    c.policy = absolute_in(c.dir, c.policy);
    c.database = absolute_in(c.dir, c.database);
    c.tls_certificate = absolute_in(c.dir, c.tls_certificate);
    c.tls_key = absolute_in(c.dir, c.tls_key);
    c.ca_certificate = absolute_in(c.dir, c.ca_certificate);
    return c;
}

json::Value controller_config_to_json(const ControllerConfig& c) {
    json::Object o;
    o["listen_address"] = c.listen_address;
    o["listen_port"] = c.listen_port;
    o["public_url"] = c.public_url;
    o["database"] = c.database;
    o["tls_certificate"] = c.tls_certificate;
    o["tls_key"] = c.tls_key;
    o["ca_certificate"] = c.ca_certificate;
    o["admin_token_sha256"] = c.admin_token_sha256;
    o["enrollment_token_max_ttl_s"] = c.enrollment_token_max_ttl_s;
    o["policy"] = c.policy;
    json::Array issuers;
    for (const auto& ic : c.oidc_issuers) {
        json::Object i;
        i["issuer"] = ic.issuer;
        json::Array ids;
        for (const auto& id : ic.client_ids) ids.push_back(id);
        i["client_ids"] = json::Value(ids);
        i["groups_claim"] = ic.groups_claim;
        i["email_claim"] = ic.email_claim;
        if (!ic.ca_certificate.empty()) i["ca_certificate"] = ic.ca_certificate;
        if (ic.allow_http) i["allow_http"] = true;
        if (!ic.require_nonce) i["require_nonce"] = false;
        issuers.push_back(json::Value(i));
    }
    o["oidc_issuers"] = json::Value(issuers);
    json::Object gw;
    for (const auto& [id, h] : c.gateway_tokens_sha256) gw[id] = h;
    o["gateway_tokens_sha256"] = json::Value(gw);
    return o;
}

}  // namespace ztna::controller
