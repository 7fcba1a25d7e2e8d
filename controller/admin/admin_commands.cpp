#include "admin_commands.h"

#include <time.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "admin_client.h"
#include "admin_init.h"
#include "policy.h"
#include "server.h"

namespace ztna::controller {

namespace {

const char* const kUsage =
    "usage:\n"
    "  ztna-admin init --dir DIR --name HOST [--name HOST...] [--port N] [--listen ADDR] [--gateway ID...]\n"
    "  ztna-admin policy check FILE\n"
    "  ztna-admin [--dir DIR] tokens create [--ttl DURATION] [--label TEXT] [--json]\n"
    "  ztna-admin [--dir DIR] tokens list [--json]      | tokens revoke ID\n"
    "  ztna-admin [--dir DIR] devices list [--json]     | devices revoke ID\n"
    "  ztna-admin [--dir DIR] users list [--json]       | users disable USER | users enable USER\n"
    "  ztna-admin [--dir DIR] audit [--user U] [--app A] [--device D] [--since WHEN] [--json]\n"
    "DIR: the directory `ztna-admin init` made (default $ZTNA_CONTROLLER_DIR, else /etc/ztna-controller).\n"
    "DURATION: 90s, 15m, 1h, 7d. WHEN: a DURATION ago, Unix seconds, or 2026-12-04T08:00:00Z.\n";

int usage(std::FILE* err, const std::string& why) {
    std::fprintf(err, "ztna-admin: %s\n%s", why.c_str(), kUsage);
    return 2;
}

std::string iso_time(std::int64_t t) {
    const time_t tt = time_t(t);
    struct tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string field(const json::Value& o, const char* key) {
    const json::Value* v = o.find(key);
    if (!v || v->is_null()) return "-";
    if (v->is_string()) return v->as_string().empty() ? "-" : v->as_string();
    if (v->is_int()) return std::string(key).ends_with("_at") || !std::strcmp(key, "at") || !std::strcmp(key, "first_seen")
                                ? iso_time(v->as_int())
                                : std::to_string(v->as_int());
    return json::dump(*v);
}

// Prints rows as aligned columns.
void print_table(std::FILE* out, const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w(head.size());
    for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
    const auto line = [&](const std::vector<std::string>& r) {
        std::string s;
        for (std::size_t i = 0; i < r.size(); ++i) {
            s += r[i];
            if (i + 1 < r.size()) s += std::string(w[i] - r[i].size() + 2, ' ');
        }
        std::fprintf(out, "%s\n", s.c_str());
    };
    line(head);
    for (const auto& r : rows) line(r);
}

void print_list(std::FILE* out, const json::Value& answer, const char* member, const std::vector<const char*>& cols,
                const char* empty_note) {
    const json::Array* a = answer.array_at(member);
    if (!a || a->empty()) {
        std::fprintf(out, "%s\n", empty_note);
        return;
    }
    std::vector<std::string> head;
    for (const char* c : cols) {
        std::string h = c;
        for (auto& ch : h) ch = ch == '_' ? ' ' : char(std::toupper(static_cast<unsigned char>(ch)));
        head.push_back(h);
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : *a) {
        std::vector<std::string> r;
        for (const char* c : cols) r.push_back(field(item, c));
        rows.push_back(std::move(r));
    }
    print_table(out, head, rows);
}

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_encode(const std::string& s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::optional<std::int64_t> parse_when(const std::string& s, std::int64_t now) {
    if (auto d = parse_duration_s(s); d && !s.empty() && !std::isdigit(static_cast<unsigned char>(s.back()))) return now - *d;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && v >= 0) return v;
    struct tm tm{};
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end && *end == '\0') return std::int64_t(timegm(&tm));
    return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> parse_duration_s(const std::string& s) {
    if (s.empty() || s.size() > 12) return std::nullopt;
    std::int64_t mult = 1;
    std::string digits = s;
    switch (s.back()) {
        case 's': mult = 1; digits.pop_back(); break;
        case 'm': mult = 60; digits.pop_back(); break;
        case 'h': mult = 3600; digits.pop_back(); break;
        case 'd': mult = 86400; digits.pop_back(); break;
        default: break;
    }
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || v < 0) return std::nullopt;
    return v * mult;
}

int run_admin(int argc, const char* const* argv, std::FILE* out, std::FILE* err) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string dir;
    if (const char* e = std::getenv("ZTNA_CONTROLLER_DIR"); e && *e) dir = e;
    else dir = "/etc/ztna-controller";
    bool as_json = false;
    std::map<std::string, std::string> opts;
    std::vector<std::string> names, words, gateways;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&](std::string& into) {
            if (i + 1 >= args.size()) return false;
            into = args[++i];
            return true;
        };
        if (a == "--json") as_json = true;
        else if (a == "--dir") {
            if (!value(dir)) return usage(err, "--dir needs a directory");
        } else if (a == "--name") {
            std::string n;
            if (!value(n)) return usage(err, "--name needs a host name or address");
            names.push_back(n);
        } else if (a == "--gateway") {
            std::string g;
            if (!value(g)) return usage(err, "--gateway needs a gateway id");
            gateways.push_back(g);
        } else if (a == "--port" || a == "--listen" || a == "--ttl" || a == "--label" || a == "--user" || a == "--app" ||
                   a == "--device" || a == "--since") {
            if (!value(opts[a.substr(2)])) return usage(err, a + " needs a value");
        } else if (a == "-h" || a == "--help") {
            std::fprintf(out, "%s", kUsage);
            return 0;
        } else if (a.rfind("--", 0) == 0) {
            return usage(err, "unknown option " + a);
        } else {
            words.push_back(a);
        }
    }
    if (words.empty()) return usage(err, "no command given");
    const std::string cmd = words[0] + (words.size() > 1 ? " " + words[1] : "");

    if (words[0] == "init") {
        InitOptions o;
        o.dir = dir;
        o.names = names;
        o.gateways = gateways;
        if (opts.count("listen")) o.listen_address = opts["listen"];
        if (opts.count("port")) {
            const std::string& ps = opts["port"];
            int p = 0;
            auto [end, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), p);
            if (ec != std::errc() || end != ps.data() + ps.size() || p < 1 || p > 65535)
                return usage(err, "--port must be a number from 1 to 65535");
            o.port = p;
        }
        auto r = init_controller_dir(o);
        if (!r) {
            std::fprintf(err, "ztna-admin: %s\n", r.error().message.c_str());
            return 1;
        }
        std::fprintf(out,
                     "Controller initialized in %s\n"
                     "  configuration   %s\n"
                     "  CA certificate  %s   (give it to agents: managed setting controller_ca)\n"
                     "  admin token     %s   (0600; ztna-admin reads it)\n"
                     "  URL             %s\n"
                     "  policy          %s   (edit it; the controller reloads it when it changes)\n",
                     dir.c_str(), r->config_path.c_str(), r->ca_path.c_str(), r->admin_token_path.c_str(),
                     r->public_url.c_str(), r->policy_path.c_str());
        for (const auto& t : r->gateway_token_paths)
            std::fprintf(out, "  gateway token   %s   (0600; give it to that gateway)\n", t.c_str());
        std::fprintf(out, "Start it with: ztna-controller --config %s\n", r->config_path.c_str());
        return 0;
    }
    if (cmd == "policy check") {
        if (words.size() != 3) return usage(err, "policy check needs exactly one FILE");
        auto p = load_policy_file(words[2]);
        if (!p) {
            std::fprintf(err, "ztna-admin: %s\n", p.error().message.c_str());
            return 1;
        }
        std::fprintf(out, "%s: valid: %zu gateways, %zu apps, %zu rules\n", words[2].c_str(), p->gateways.size(), p->apps.size(),
                     p->rules.size());
        return 0;
    }

    auto ep = endpoint_from_dir(dir);
    if (!ep) {
        std::fprintf(err, "ztna-admin: %s\n", ep.error().message.c_str());
        return 1;
    }
    const auto call = [&](const std::string& method, const std::string& path, const json::Value* body) -> std::optional<json::Value> {
        auto r = admin_request(*ep, method, path, body);
        if (!r) {
            std::fprintf(err, "ztna-admin: %s: %s\n", cmd.c_str(), r.error().message.c_str());
            return std::nullopt;
        }
        if (as_json) std::fprintf(out, "%s\n", json::dump_pretty(*r).c_str());
        return std::move(*r);
    };
    const auto need_arg = [&](const char* what) -> const std::string* {
        if (words.size() != 3) return nullptr;
        (void)what;
        return &words[2];
    };

    if (cmd == "tokens create") {
        json::Object body;
        if (opts.count("ttl")) {
            auto d = parse_duration_s(opts["ttl"]);
            if (!d || *d < 60 || *d > 30 * 86400) return usage(err, "--ttl must be a duration from 1m to 30d, such as 15m, 1h or 7d");
            body["ttl_s"] = *d;
        }
        if (opts.count("label")) body["label"] = opts["label"];
        const json::Value b(std::move(body));
        auto r = call("POST", "/v1/admin/enrollment-tokens", &b);
        if (!r) return 1;
        if (!as_json)
            std::fprintf(out, "Enrollment token %s (expires %s; enrolls one device; shown only now):\n%s\n",
                         field(*r, "id").c_str(), field(*r, "expires_at").c_str(), field(*r, "token").c_str());
        return 0;
    }
    if (cmd == "tokens list" || cmd == "devices list" || cmd == "users list") {
        if (words.size() != 2) return usage(err, cmd + " takes no argument");
        const std::string what = words[0] == "tokens" ? "enrollment-tokens" : words[0];
        auto r = call("GET", "/v1/admin/" + what, nullptr);
        if (!r) return 1;
        if (as_json) return 0;
        if (words[0] == "tokens")
            print_list(out, *r, "tokens", {"id", "state", "label", "created_at", "expires_at", "used_by_device"},
                       "No enrollment tokens. Create one with: ztna-admin tokens create");
        else if (words[0] == "devices")
            print_list(out, *r, "devices", {"id", "state", "hostname", "platform", "enrolled_at", "revoked_at"},
                       "No devices are enrolled.");
        else
            print_list(out, *r, "users", {"email", "state", "subject", "first_seen", "disabled_at"},
                       "No users yet: a user appears at their first sign-in.");
        return 0;
    }
    if (cmd == "tokens revoke" || cmd == "devices revoke" || cmd == "users disable" || cmd == "users enable") {
        const std::string* id = need_arg("id");
        if (!id) return usage(err, cmd + " needs exactly one " + (words[0] == "users" ? "user (email or subject)" : "id"));
        std::string path;
        if (words[0] == "tokens") path = "/v1/admin/enrollment-tokens/" + url_encode(*id) + "/revoke";
        else if (words[0] == "devices") path = "/v1/admin/devices/" + url_encode(*id) + "/revoke";
        else path = "/v1/admin/users/" + url_encode(*id) + "/" + words[1];
        auto r = call("POST", path, nullptr);
        if (!r) return 1;
        if (!as_json) std::fprintf(out, "%s: %s\n", id->c_str(), field(*r, "state").c_str());
        return 0;
    }
    if (words[0] == "audit") {
        if (words.size() != 1) return usage(err, "audit takes options, not arguments");
        std::string q;
        const auto add = [&](const std::string& k, const std::string& v) {
            q += (q.empty() ? "?" : "&") + k + "=" + url_encode(v);
        };
        if (opts.count("user")) add("user", opts["user"]);
        if (opts.count("app")) add("app", opts["app"]);
        if (opts.count("device")) add("device", opts["device"]);
        if (opts.count("since")) {
            auto t = parse_when(opts["since"], system_clock_seconds());
            if (!t) return usage(err, "--since must be a duration (15m, 2h, 7d), Unix seconds or 2026-12-04T08:00:00Z");
            add("since", std::to_string(*t));
        }
        auto r = call("GET", "/v1/admin/audit" + q, nullptr);
        if (!r) return 1;
        if (!as_json)
            print_list(out, *r, "events", {"at", "kind", "outcome", "user", "device_id", "app", "reason"},
                       "No audit events match.");
        return 0;
    }
    return usage(err, "unknown command \"" + cmd + "\"");
}

}  // namespace ztna::controller
