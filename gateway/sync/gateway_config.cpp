#include "gateway_config.h"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "ztna/json.h"

namespace ztna::gateway {

Result<std::string> network_of(const std::string& a) {
    const auto slash = a.find('/');
    if (slash == std::string::npos) return fail("\"" + a + "\" has no prefix length (like 100.64.0.1/16)");
    const std::string host = a.substr(0, slash);
    int len = -1;
    auto [p, ec] = std::from_chars(a.data() + slash + 1, a.data() + a.size(), len);
    if (ec != std::errc() || p != a.data() + a.size()) return fail("\"" + a + "\" has a bad prefix length");
    unsigned char b[16] = {};
    const bool v4 = inet_pton(AF_INET, host.c_str(), b) == 1;
    if (!v4 && inet_pton(AF_INET6, host.c_str(), b) != 1) return fail("\"" + a + "\" is not an IP address");
    const int bits = v4 ? 32 : 128;
    if (len < 8 || len > bits - 2) return fail("\"" + a + "\" has a prefix length out of range");
    for (int i = 0; i < bits / 8; ++i) {
        const int keep = std::max(0, std::min(8, len - i * 8));
        b[i] &= keep == 0 ? 0 : static_cast<unsigned char>(0xff << (8 - keep));
    }
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(v4 ? AF_INET : AF_INET6, b, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(len);
}

Result<GatewayConfig> load_gateway_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot read the gateway configuration " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    auto v = json::parse(ss.str(), {.max_bytes = 1u << 16, .max_depth = 8});
    if (!v || !v->is_object()) return fail(path + ": not a JSON object" + (v ? "" : ": " + v.error().message));
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const auto abs = [&](const std::string& p) { return p.empty() || p[0] == '/' ? p : dir + "/" + p; };
    GatewayConfig c;
    for (const auto& [k, val] : v->as_object()) {
        const auto str = [&](std::string& into) -> Result<void> {
            if (!val.is_string() || val.as_string().empty()) return fail(path + ": \"" + k + "\" must be a non-empty string");
            into = val.as_string();
            return {};
        };
        Result<void> r;
        if (k == "gateway_id") r = str(c.gateway_id);
        else if (k == "controller_url") r = str(c.controller_url);
        else if (k == "controller_ca") r = str(c.controller_ca);
        else if (k == "token_file") r = str(c.token_file);
        else if (k == "interface") r = str(c.interface);
        else if (k == "private_key_file") r = str(c.private_key_file);
        else if (k == "tunnel_address") r = str(c.tunnel_address);
        else if (k == "listen_port") {
            if (!val.is_int() || val.as_int() < 1 || val.as_int() > 65535) r = fail(path + ": \"listen_port\" must be 1 to 65535");
            else c.listen_port = int(val.as_int());
        } else {
            r = fail(path + ": unknown field \"" + k + "\" (gateway_id, controller_url, controller_ca, token_file, interface, "
                            "listen_port, private_key_file, tunnel_address)");
        }
        if (!r) return Unexpected<Error>{r.error()};
    }
    for (const auto& [name, value] : {std::pair{"gateway_id", &c.gateway_id}, std::pair{"controller_url", &c.controller_url},
                                      std::pair{"controller_ca", &c.controller_ca}, std::pair{"token_file", &c.token_file},
                                      std::pair{"private_key_file", &c.private_key_file},
                                      std::pair{"tunnel_address", &c.tunnel_address}})
        if (value->empty()) return fail(path + ": \"" + std::string(name) + "\" is missing");
    if (c.interface.size() > 15) return fail(path + ": \"interface\" must be at most 15 characters");
    if (auto n = network_of(c.tunnel_address); !n) return fail(path + ": \"tunnel_address\": " + n.error().message);
    c.controller_ca = abs(c.controller_ca);
    c.token_file = abs(c.token_file);
    c.private_key_file = abs(c.private_key_file);
    return c;
}

}  // namespace ztna::gateway
