#include "settings.h"

#include <fstream>
#include <sstream>

#include "requirements.h"
#include "ztna/https_url.h"

namespace ztna::agent {

namespace {

struct Layer {
    const std::string& file;
    const json::LineMap& lines;
    std::string where(const std::string& field) const {
        auto it = lines.find("/" + field);
        if (it == lines.end()) {
            auto dot = field.find('.');
            if (dot != std::string::npos) {
                std::string ptr = "/" + field;
                ptr[dot + 1] = '/';
                it = lines.find(ptr);
            }
        }
        return file + (it != lines.end() ? ":" + std::to_string(it->second) : "") + ": " + field;
    }
};

Result<std::string> text_field(const json::Value& obj, const char* key, const Layer& l, const std::string& prefix = {}) {
    const json::Value* v = obj.find(key);
    if (!v) return std::string();
    if (!v->is_string() || v->as_string().empty())
        return fail(l.where(prefix + key) + ": must be a non-empty string");
    return v->as_string();
}

}  // namespace

Result<void> apply_settings_layer(Settings& s, const std::string& text, const std::string& file_name) {
    json::LineMap lines;
    auto doc = json::parse(text, {.max_bytes = 1u << 20, .max_depth = 16}, lines);
    if (!doc) return fail(file_name + ": not valid JSON: " + doc.error().message + " (fix the file; see docs/agent.md)");
    if (!doc->is_object()) return fail(file_name + ": must hold one JSON object (see docs/agent.md)");
    const Layer l{file_name, lines};
    static const std::set<std::string> known = {"controller_url", "controller_ca", "enrollment_token", "oidc", "interface",
                                                "dns_listen", "dns_port", "posture_interval_s", "posture_requirements", "locks",
                                                "session_refresh_before_s"};
    for (const auto& [k, v] : doc->as_object())
        if (!known.count(k)) return fail(l.where(k) + ": unknown setting (known: controller_url, controller_ca, enrollment_token, oidc, interface, dns_listen, dns_port, posture_interval_s, posture_requirements, locks, session_refresh_before_s)");

    for (auto [key, into] : {std::pair{"controller_url", &s.controller_url}, std::pair{"controller_ca", &s.controller_ca},
                             std::pair{"enrollment_token", &s.enrollment_token}, std::pair{"interface", &s.interface},
                             std::pair{"dns_listen", &s.dns_listen}}) {
        auto t = text_field(*doc, key, l);
        if (!t) return Unexpected<Error>{t.error()};
        if (!t->empty()) *into = *t;
    }
    if (const json::Value* o = doc->find("oidc")) {
        if (!o->is_object()) return fail(l.where("oidc") + ": must be an object {\"issuer\", \"client_id\", \"ca\"}");
        for (const auto& [k, v] : o->as_object())
            if (k != "issuer" && k != "client_id" && k != "ca" && k != "scopes")
                return fail(l.where("oidc." + k) + ": unknown setting (known: issuer, client_id, ca, scopes)");
        for (auto [key, into] : {std::pair{"issuer", &s.oidc.issuer}, std::pair{"client_id", &s.oidc.client_id},
                                 std::pair{"ca", &s.oidc.ca}, std::pair{"scopes", &s.oidc.scopes}}) {
            auto t = text_field(*o, key, l, "oidc.");
            if (!t) return Unexpected<Error>{t.error()};
            if (!t->empty()) *into = *t;
        }
    }
    for (auto [key, into, lo, hi] : {std::tuple{"dns_port", &s.dns_port, 1, 65535},
                                     std::tuple{"posture_interval_s", &s.posture_interval_s, 2, 3600},
                                     std::tuple{"session_refresh_before_s", &s.session_refresh_before_s, 30, 86400}}) {
        const json::Value* v = doc->find(key);
        if (!v) continue;
        if (!v->is_int() || v->as_int() < lo || v->as_int() > hi)
            return fail(l.where(key) + ": must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
        *into = int(v->as_int());
    }
    if (const json::Value* v = doc->find("posture_requirements")) {
        auto r = posture::requirements_from_json(*v);
        if (!r) return fail(l.where("posture_requirements") + ": " + r.error().message);
        s.posture_requirements = *v;
    }
    if (const json::Value* v = doc->find("locks")) {
        if (!v->is_array()) return fail(l.where("locks") + ": must be a list such as [\"logout\"]");
        s.locks.clear();
        for (const auto& x : v->as_array()) {
            if (!x.is_string() || x.as_string() != "logout")
                return fail(l.where("locks") + ": unknown lock " + (x.is_string() ? "\"" + x.as_string() + "\"" : json::dump(x)) +
                            " (known: \"logout\")");
            s.locks.insert(x.as_string());
        }
    }
    return {};
}

Result<void> validate_settings(const Settings& s) {
    const std::string& f = s.managed_path;
    if (s.controller_url.empty()) return fail(f + ": controller_url: missing; set the controller's https:// URL");
    if (auto u = parse_https_url(s.controller_url); !u) return fail(f + ": controller_url: " + u.error().message);
    if (s.controller_ca.empty()) return fail(f + ": controller_ca: missing; set the path of the controller CA (PEM) to pin");
    if (s.oidc.issuer.empty()) return fail(f + ": oidc.issuer: missing; set the identity provider's issuer URL");
    if (auto u = parse_https_url(s.oidc.issuer); !u) return fail(f + ": oidc.issuer: " + u.error().message);
    if (s.interface.empty() || s.interface.size() > 15) return fail(f + ": interface: must be 1 to 15 characters");
    return {};
}

Result<Settings> load_settings(const std::string& managed_path, const std::string& local_path) {
    Settings s;
    s.managed_path = managed_path;
    s.local_path = local_path;
    const auto read = [](const std::string& path, std::string& out) {
        std::ifstream in(path, std::ios::binary);
        if (!in) return false;
        std::ostringstream ss;
        ss << in.rdbuf();
        out = ss.str();
        return true;
    };
    std::string text;
    if (!local_path.empty() && read(local_path, text)) {
        if (auto r = apply_settings_layer(s, text, local_path); !r) return Unexpected<Error>{r.error()};
    }
    if (!read(managed_path, text))
        return fail("cannot read the managed settings " + managed_path +
                    ": the agent needs at least controller_url, controller_ca, enrollment_token and oidc.issuer there "
                    "(pushed by your MDM; see docs/agent.md)");
    if (auto r = apply_settings_layer(s, text, managed_path); !r) return Unexpected<Error>{r.error()};
    if (auto r = validate_settings(s); !r) return Unexpected<Error>{r.error()};
    return s;
}

}  // namespace ztna::agent
