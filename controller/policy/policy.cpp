#include "policy.h"

#include <arpa/inet.h>

#include <charconv>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "ztna/dns_name.h"
#include "ztna/json.h"

namespace ztna::controller {

const char* const kPostureCheckIds[6] = {"disk_encryption", "antivirus", "managed_device",
                                         "firewall",        "os_version", "screen_lock"};

const App* Policy::app(const std::string& name) const {
    for (const auto& a : apps)
        if (a.name == name) return &a;
    return nullptr;
}

const Gateway* Policy::gateway(const std::string& id) const {
    for (const auto& g : gateways)
        if (g.id == id) return &g;
    return nullptr;
}

Result<IpPrefix> parse_prefix(std::string_view text) {
    IpPrefix p;
    std::string addr(text);
    int len = -1;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        addr = std::string(text.substr(0, slash));
        const auto bits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), len);
        if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty()) return fail("a bad prefix length");
    }
    if (inet_pton(AF_INET, addr.c_str(), p.addr) == 1) {
        p.v6 = false;
        if (len < 0) len = 32;
        if (len > 32) return fail("an IPv4 prefix length above 32");
    } else if (inet_pton(AF_INET6, addr.c_str(), p.addr) == 1) {
        p.v6 = true;
        if (len < 0) len = 128;
        if (len > 128) return fail("an IPv6 prefix length above 128");
    } else {
        return fail("not an IP address");
    }
    p.length = len;
    const int bytes = p.v6 ? 16 : 4;
    for (int i = 0; i < bytes; ++i) {  // host bits must be zero
        const int keep = std::max(0, std::min(8, len - i * 8));
        const unsigned char mask = keep == 0 ? 0 : static_cast<unsigned char>(0xff << (8 - keep));
        if ((p.addr[i] & ~mask) != 0) return fail("host bits set after the prefix length (did you mean the network address?)");
    }
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.addr, buf, sizeof buf);
    p.text = std::string(buf) + "/" + std::to_string(len);
    return p;
}

bool prefix_contains(const IpPrefix& p, const unsigned char* addr, bool v6) {
    if (p.v6 != v6) return false;
    for (int i = 0; i < (v6 ? 16 : 4); ++i) {
        const int keep = std::max(0, std::min(8, p.length - i * 8));
        const unsigned char mask = keep == 0 ? 0 : static_cast<unsigned char>(0xff << (8 - keep));
        if ((addr[i] & mask) != (p.addr[i] & mask)) return false;
    }
    return true;
}

namespace {

// Validation context: the line map and the file name, to locate errors.
class Checker {
public:
    Checker(const json::LineMap& lines, std::string file) : lines_(lines), file_(std::move(file)) {}

    // "policy.json:14: apps[2].ports[0]: what"
    Unexpected<Error> error(const std::string& pointer, const std::string& what) const {
        int line = 0;
        for (std::string p = pointer;; p.resize(p.rfind('/'))) {  // the nearest located ancestor
            if (auto it = lines_.find(p); it != lines_.end()) {
                line = it->second;
                break;
            }
            if (p.empty()) break;
        }
        return fail("invalid_policy", file_ + ":" + std::to_string(line) + ": " + field(pointer) + ": " + what);
    }

    static std::string field(const std::string& pointer) {
        if (pointer.empty()) return "(document)";
        std::string out;
        std::size_t i = 1;
        while (i <= pointer.size()) {
            const auto next = pointer.find('/', i);
            const std::string part = pointer.substr(i, next == std::string::npos ? std::string::npos : next - i);
            const bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
            if (index) out += "[" + part + "]";
            else out += (out.empty() ? "" : ".") + part;
            if (next == std::string::npos) break;
            i = next + 1;
        }
        return out;
    }

private:
    const json::LineMap& lines_;
    std::string file_;
};

bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
    return std::isalnum(static_cast<unsigned char>(s[0]));
}

Result<PortRange> parse_port(const std::string& s) {
    PortRange r;
    if (s == "icmp") {
        r.protocol = "icmp";
        return r;
    }
    const auto slash = s.find('/');
    if (slash == std::string::npos) return fail("expected tcp/PORT, udp/PORT, tcp/FIRST-LAST or icmp");
    r.protocol = s.substr(0, slash);
    if (r.protocol != "tcp" && r.protocol != "udp") return fail("the protocol must be tcp, udp or icmp");
    const std::string ports = s.substr(slash + 1);
    const auto dash = ports.find('-');
    const auto num = [](const std::string& t, int& out) {
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return ec == std::errc() && end == t.data() + t.size() && !t.empty() && out >= 1 && out <= 65535;
    };
    if (!num(ports.substr(0, dash), r.first)) return fail("a port must be a number from 1 to 65535");
    r.last = r.first;
    if (dash != std::string::npos && !num(ports.substr(dash + 1), r.last)) return fail("a port must be a number from 1 to 65535");
    if (r.last < r.first) return fail("a port range must go from low to high");
    return r;
}

Result<int> parse_hhmm(const std::string& s) {
    int h = 0, m = 0;
    if (s.size() != 5 || s[2] != ':') return fail("a time must be HH:MM (UTC)");
    auto a = std::from_chars(s.data(), s.data() + 2, h);
    auto b = std::from_chars(s.data() + 3, s.data() + 5, m);
    if (a.ec != std::errc() || b.ec != std::errc() || a.ptr != s.data() + 2 || b.ptr != s.data() + 5 || h > 24 || m > 59 ||
        (h == 24 && m != 0))
        return fail("a time must be HH:MM from 00:00 to 24:00 (UTC)");
    return h * 60 + m;
}

}  // namespace

Result<Policy> parse_policy(std::string_view text, const std::string& file_name) {
    json::LineMap lines;
    auto doc = json::parse(text, {.max_bytes = 4u << 20, .max_depth = 16}, lines);
    if (!doc) return fail("invalid_policy", file_name + ": " + doc.error().message);
    const Checker c(lines, file_name);
    if (!doc->is_object()) return c.error("", "the policy must be a JSON object with gateways, apps and rules");
    Policy p;

    // Members of an object: unknown ones are refused (a misspelled "require_mfa" must not pass silently).
    const auto known = [&](const json::Value& o, const std::string& at, std::initializer_list<const char*> names) -> Result<void> {
        for (const auto& [k, v] : o.as_object()) {
            bool ok = false;
            for (const char* n : names) ok = ok || k == n;
            if (!ok) {
                std::string list;
                for (const char* n : names) list += (list.empty() ? "" : ", ") + std::string(n);
                return c.error(at + "/" + k, "unknown field (known: " + list + ")");
            }
        }
        return {};
    };
    const auto string_list = [&](const json::Value& o, const std::string& at, const char* key, bool required,
                                 std::vector<std::string>& out) -> Result<void> {
        const json::Value* v = o.find(key);
        if (!v) {
            if (required) return c.error(at, std::string("\"") + key + "\" is missing");
            return {};
        }
        if (!v->is_array()) return c.error(at + "/" + key, "must be a list of strings");
        for (std::size_t i = 0; i < v->as_array().size(); ++i) {
            const auto& s = v->as_array()[i];
            if (!s.is_string() || s.as_string().empty())
                return c.error(at + "/" + key + "/" + std::to_string(i), "must be a non-empty string");
            out.push_back(s.as_string());
        }
        if (required && out.empty()) return c.error(at + "/" + key, "must not be empty");
        return {};
    };
    const auto need_string = [&](const json::Value& o, const std::string& at, const char* key, std::string& out) -> Result<void> {
        const json::Value* v = o.find(key);
        if (!v) return c.error(at, std::string("\"") + key + "\" is missing");
        if (!v->is_string() || v->as_string().empty()) return c.error(at + "/" + key, "must be a non-empty string");
        out = v->as_string();
        return {};
    };
#define ZTNA_TRY(expr)                                      \
    do {                                                    \
        if (auto r_ = (expr); !r_) return Unexpected<Error>{r_.error()}; \
    } while (0)

    ZTNA_TRY(known(*doc, "", {"version", "settings", "gateways", "apps", "rules"}));
    const json::Value* version = doc->find("version");
    if (!version || !version->is_int() || version->as_int() != 1)
        return c.error("/version", "must be 1 (the policy format version this controller reads)");

    if (const json::Value* s = doc->find("settings")) {
        if (!s->is_object()) return c.error("/settings", "must be an object");
        ZTNA_TRY(known(*s, "/settings", {"grant_ttl_s", "session_lifetime_s", "posture_max_age_s"}));
        const auto num = [&](const char* key, std::int64_t lo, std::int64_t hi, std::int64_t& out) -> Result<void> {
            const json::Value* v = s->find(key);
            if (!v) return {};
            if (!v->is_int() || v->as_int() < lo || v->as_int() > hi)
                return c.error(std::string("/settings/") + key,
                               "must be a whole number of seconds from " + std::to_string(lo) + " to " + std::to_string(hi));
            out = v->as_int();
            return {};
        };
        ZTNA_TRY(num("grant_ttl_s", 30, 3600, p.settings.grant_ttl_s));
        ZTNA_TRY(num("session_lifetime_s", 300, 7 * 86400, p.settings.session_lifetime_s));
        ZTNA_TRY(num("posture_max_age_s", 30, 3600, p.settings.posture_max_age_s));
    }

    const json::Value* gws = doc->find("gateways");
    if (!gws || !gws->is_array()) return c.error("/gateways", "must be a list of gateways");
    for (std::size_t i = 0; i < gws->as_array().size(); ++i) {
        const std::string at = "/gateways/" + std::to_string(i);
        const auto& g = gws->as_array()[i];
        if (!g.is_object()) return c.error(at, "must be an object");
        ZTNA_TRY(known(g, at, {"id", "endpoint", "public_key", "tunnel_network"}));
        Gateway gw;
        ZTNA_TRY(need_string(g, at, "id", gw.id));
        if (!valid_name(gw.id)) return c.error(at + "/id", "must be 1 to 63 letters, digits, '-', '_' or '.'");
        if (p.gateway(gw.id)) return c.error(at + "/id", "the gateway \"" + gw.id + "\" is defined twice");
        ZTNA_TRY(need_string(g, at, "endpoint", gw.endpoint));
        if (gw.endpoint.rfind(':') == std::string::npos) return c.error(at + "/endpoint", "must be HOST:PORT");
        ZTNA_TRY(need_string(g, at, "public_key", gw.public_key));
        if (gw.public_key.size() != 44 || gw.public_key.back() != '=')
            return c.error(at + "/public_key", "must be a WireGuard public key (44 characters of base64, as `wg pubkey` prints)");
        std::string net;
        ZTNA_TRY(need_string(g, at, "tunnel_network", net));
        auto prefix = parse_prefix(net);
        if (!prefix) return c.error(at + "/tunnel_network", "\"" + net + "\": " + prefix.error().message);
        if (prefix->v6 ? prefix->length > 120 : prefix->length > 28)
            return c.error(at + "/tunnel_network", "is too small to hand out grant addresses from (at most /28 or /120)");
        gw.tunnel_network = *prefix;
        p.gateways.push_back(std::move(gw));
    }

    const json::Value* apps = doc->find("apps");
    if (!apps || !apps->is_array()) return c.error("/apps", "must be a list of apps");
    for (std::size_t i = 0; i < apps->as_array().size(); ++i) {
        const std::string at = "/apps/" + std::to_string(i);
        const auto& a = apps->as_array()[i];
        if (!a.is_object()) return c.error(at, "must be an object");
        ZTNA_TRY(known(a, at, {"name", "description", "dns", "addresses", "ports", "gateway"}));
        App app;
        ZTNA_TRY(need_string(a, at, "name", app.name));
        if (!valid_name(app.name)) return c.error(at + "/name", "must be 1 to 63 letters, digits, '-', '_' or '.'");
        if (p.app(app.name)) return c.error(at + "/name", "the app \"" + app.name + "\" is defined twice");
        if (const json::Value* d = a.find("description")) {
            if (!d->is_string()) return c.error(at + "/description", "must be a string");
            app.description = d->as_string();
        }
        ZTNA_TRY(string_list(a, at, "dns", false, app.dns_names));
        for (std::size_t k = 0; k < app.dns_names.size(); ++k) {
            auto& n = app.dns_names[k];
            for (auto& ch : n) ch = char(std::tolower(static_cast<unsigned char>(ch)));
            if (!valid_dns_name(n)) return c.error(at + "/dns/" + std::to_string(k), "\"" + n + "\" is not a DNS name such as hr.corp.test");
            for (const auto& other : p.apps)
                for (const auto& on : other.dns_names)
                    if (on == n) return c.error(at + "/dns/" + std::to_string(k), "\"" + n + "\" already belongs to the app \"" + other.name + "\"");
        }
        std::vector<std::string> addrs, ports;
        ZTNA_TRY(string_list(a, at, "addresses", true, addrs));
        for (std::size_t k = 0; k < addrs.size(); ++k) {
            auto prefix = parse_prefix(addrs[k]);
            if (!prefix) return c.error(at + "/addresses/" + std::to_string(k), "\"" + addrs[k] + "\": " + prefix.error().message);
            app.addresses.push_back(*prefix);
        }
        ZTNA_TRY(string_list(a, at, "ports", true, ports));
        for (std::size_t k = 0; k < ports.size(); ++k) {
            auto pr = parse_port(ports[k]);
            if (!pr) return c.error(at + "/ports/" + std::to_string(k), "\"" + ports[k] + "\": " + pr.error().message);
            app.ports.push_back(*pr);
        }
        ZTNA_TRY(need_string(a, at, "gateway", app.gateway));
        const Gateway* gw = p.gateway(app.gateway);
        if (!gw) return c.error(at + "/gateway", "no gateway has the id \"" + app.gateway + "\"");
        // A grant carries one tunnel address, of the gateway's family: an address of the
        // other family would be handed out by DNS but never routed through the tunnel.
        for (std::size_t k = 0; k < app.addresses.size(); ++k)
            if (app.addresses[k].v6 != gw->tunnel_network.v6)
                return c.error(at + "/addresses/" + std::to_string(k),
                               "\"" + app.addresses[k].text + "\" is an " + (app.addresses[k].v6 ? "IPv6" : "IPv4") + " address, but the gateway \"" +
                                   gw->id + "\" hands out " + (gw->tunnel_network.v6 ? "IPv6" : "IPv4") + " tunnel addresses (tunnel_network " +
                                   gw->tunnel_network.text + "): use addresses of that family only (an app on both IPv4 and IPv6 is not supported yet)");
        p.apps.push_back(std::move(app));
    }

    const json::Value* rules = doc->find("rules");
    if (!rules || !rules->is_array()) return c.error("/rules", "must be a list of rules");
    std::set<std::string> rule_names;
    for (std::size_t i = 0; i < rules->as_array().size(); ++i) {
        const std::string at = "/rules/" + std::to_string(i);
        const auto& r = rules->as_array()[i];
        if (!r.is_object()) return c.error(at, "must be an object");
        ZTNA_TRY(known(r, at, {"name", "groups", "apps", "posture", "require_mfa", "schedule"}));
        Rule rule;
        ZTNA_TRY(need_string(r, at, "name", rule.name));
        if (!rule_names.insert(rule.name).second) return c.error(at + "/name", "the rule \"" + rule.name + "\" is defined twice");
        ZTNA_TRY(string_list(r, at, "groups", true, rule.groups));
        ZTNA_TRY(string_list(r, at, "apps", true, rule.apps));
        for (std::size_t k = 0; k < rule.apps.size(); ++k)
            if (!p.app(rule.apps[k])) return c.error(at + "/apps/" + std::to_string(k), "no app is named \"" + rule.apps[k] + "\"");
        ZTNA_TRY(string_list(r, at, "posture", false, rule.posture));
        for (std::size_t k = 0; k < rule.posture.size(); ++k) {
            bool ok = false;
            for (const char* id : kPostureCheckIds) ok = ok || rule.posture[k] == id;
            if (!ok)
                return c.error(at + "/posture/" + std::to_string(k), "\"" + rule.posture[k] +
                                                                         "\" is not a posture check (disk_encryption, antivirus, "
                                                                         "managed_device, firewall, os_version, screen_lock)");
        }
        if (const json::Value* m = r.find("require_mfa")) {
            if (!m->is_bool()) return c.error(at + "/require_mfa", "must be true or false");
            rule.require_mfa = m->as_bool();
        }
        if (const json::Value* s = r.find("schedule")) {
            const std::string sat = at + "/schedule";
            if (!s->is_object()) return c.error(sat, "must be an object with days, from and to");
            ZTNA_TRY(known(*s, sat, {"days", "from", "to"}));
            Schedule sch;
            std::vector<std::string> days;
            ZTNA_TRY(string_list(*s, sat, "days", true, days));
            static const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
            for (std::size_t k = 0; k < days.size(); ++k) {
                int d = -1;
                for (int j = 0; j < 7; ++j)
                    if (days[k] == kDays[j]) d = j;
                if (d < 0) return c.error(sat + "/days/" + std::to_string(k), "\"" + days[k] + "\" is not one of sun, mon, tue, wed, thu, fri, sat");
                sch.days.push_back(d);
            }
            std::string from, to;
            ZTNA_TRY(need_string(*s, sat, "from", from));
            ZTNA_TRY(need_string(*s, sat, "to", to));
            auto f = parse_hhmm(from);
            if (!f) return c.error(sat + "/from", f.error().message);
            auto t = parse_hhmm(to);
            if (!t) return c.error(sat + "/to", t.error().message);
            if (*t <= *f) return c.error(sat + "/to", "must be later than from (a schedule does not cross midnight; write two rules)");
            sch.from_minute = *f;
            sch.to_minute = *t;
            rule.schedule = sch;
        }
        p.rules.push_back(std::move(rule));
    }
#undef ZTNA_TRY
    return p;
}

Result<Policy> load_policy_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("invalid_policy", "cannot read the policy file " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_policy(ss.str(), path);
}

}  // namespace ztna::controller
