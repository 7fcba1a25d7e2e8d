#include "ztna/grant.h"

#include <arpa/inet.h>

#include <charconv>

namespace ztna {

namespace {

bool valid_prefix(const std::string& s, bool single_host) {
    const auto slash = s.find('/');
    if (slash == std::string::npos) return false;
    const std::string addr = s.substr(0, slash);
    int len = -1;
    auto [p, ec] = std::from_chars(s.data() + slash + 1, s.data() + s.size(), len);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr.c_str(), buf) == 1) return single_host ? len == 32 : len >= 0 && len <= 32;
    if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) return single_host ? len == 128 : len >= 0 && len <= 128;
    return false;
}

Result<PortRule> parse_port(const std::string& s) {
    PortRule r;
    if (s == "icmp") {
        r.protocol = "icmp";
        return r;
    }
    const auto slash = s.find('/');
    if (slash == std::string::npos) return fail("a port is not PROTO/PORT: \"" + s.substr(0, 40) + "\"");
    r.protocol = s.substr(0, slash);
    if (r.protocol != "tcp" && r.protocol != "udp") return fail("a port has an unknown protocol: \"" + s.substr(0, 40) + "\"");
    const std::string ports = s.substr(slash + 1);
    const auto dash = ports.find('-');
    const auto num = [](const std::string& t, int& out) {
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return ec == std::errc() && end == t.data() + t.size() && !t.empty() && out >= 1 && out <= 65535;
    };
    if (!num(ports.substr(0, dash), r.first)) return fail("a port is out of range: \"" + s.substr(0, 40) + "\"");
    r.last = r.first;
    if (dash != std::string::npos && (!num(ports.substr(dash + 1), r.last) || r.last < r.first))
        return fail("a port range is invalid: \"" + s.substr(0, 40) + "\"");
    return r;
}

bool valid_id(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (unsigned char c : s)
        if (!(std::islower(c) || std::isdigit(c) || c == '_')) return false;
    return true;
}

}  // namespace

Result<Grant> parse_grant(const json::Value& v) {
    if (!v.is_object()) return fail("a grant is not a JSON object");
    Grant g;
    const std::string* id = v.string_at("id");
    const std::string* key = v.string_at("agent_public_key");
    const std::string* addr = v.string_at("tunnel_address");
    const std::int64_t* exp = v.int_at("expires_at");
    const json::Array* addrs = v.array_at("addresses");
    const json::Array* ports = v.array_at("ports");
    if (!id || !valid_id(*id)) return fail("a grant has no valid id");
    g.id = *id;
    const std::string where = "grant " + g.id + ": ";
    if (!key || key->size() != 44 || key->back() != '=') return fail(where + "agent_public_key is not a WireGuard key");
    if (!addr || !valid_prefix(*addr, true)) return fail(where + "tunnel_address is not a single address with /32 or /128");
    if (!exp) return fail(where + "expires_at is missing");
    if (!addrs || addrs->empty()) return fail(where + "addresses is missing or empty");
    if (!ports || ports->empty()) return fail(where + "ports is missing or empty");
    g.agent_public_key = *key;
    g.tunnel_address = *addr;
    g.expires_at = *exp;
    if (const std::string* a = v.string_at("app")) g.app = *a;
    if (const std::string* u = v.string_at("user")) g.user = *u;
    if (const std::string* d = v.string_at("device_id")) g.device_id = *d;
    for (const auto& a : *addrs) {
        if (!a.is_string() || !valid_prefix(a.as_string(), false)) return fail(where + "an address is not a prefix");
        g.addresses.push_back(a.as_string());
    }
    for (const auto& p : *ports) {
        if (!p.is_string()) return fail(where + "a port is not a string");
        auto r = parse_port(p.as_string());
        if (!r) return fail(where + r.error().message);
        g.ports.push_back(*r);
    }
    if (const json::Value* gw = v.find("gateway"); gw && gw->is_object()) {
        if (const std::string* x = gw->string_at("id")) g.gateway_id = *x;
        if (const std::string* x = gw->string_at("endpoint")) g.gateway_endpoint = *x;
        if (const std::string* x = gw->string_at("public_key")) g.gateway_public_key = *x;
    }
    if (const json::Array* d = v.array_at("dns"))
        for (const auto& n : *d)
            if (n.is_string()) g.dns.push_back(n.as_string());
    return g;
}

}  // namespace ztna


