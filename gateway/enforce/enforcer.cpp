#include "enforcer.h"

#include <sodium.h>

#include <set>

namespace ztna::gateway {

std::string key_to_hex(const std::string& b64) {
    unsigned char raw[32];
    std::size_t n = 0;
    if (sodium_base642bin(raw, sizeof raw, b64.data(), b64.size(), nullptr, &n, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != 32)
        return {};
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    return hex;
}

std::string key_from_hex(const std::string& hex) {
    unsigned char raw[32];
    std::size_t n = 0;
    if (sodium_hex2bin(raw, sizeof raw, hex.data(), hex.size(), nullptr, &n, nullptr) != 0 || n != 32) return {};
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    return b64;
}

namespace {

// The peers the device has now, by hex key.
std::set<std::string> device_peers(const std::string& get_answer) {
    std::set<std::string> keys;
    std::size_t pos = 0;
    while (pos < get_answer.size()) {
        const auto nl = get_answer.find('\n', pos);
        const std::string line = get_answer.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (line.rfind("public_key=", 0) == 0) keys.insert(line.substr(11));
        pos = nl == std::string::npos ? get_answer.size() : nl + 1;
    }
    return keys;
}

bool uapi_ok(const std::string& answer) { return answer.find("errno=0") != std::string::npos; }

}  // namespace

Result<void> Enforcer::apply(const std::vector<GatewayGrant>& grants, std::vector<std::string>* refused) {
    std::vector<GatewayGrant> enforced;
    std::set<std::string> keys, addresses;
    for (const auto& g : grants) {
        const std::string hex = key_to_hex(g.agent_public_key);
        // Two grants on one key or one address would widen each other: the later one is refused.
        if (hex.empty() || keys.count(hex) || addresses.count(g.tunnel_address)) {
            if (refused) refused->push_back(g.id);
            continue;
        }
        enforced.push_back(g);
        keys.insert(hex);
        addresses.insert(g.tunnel_address);
    }
    std::map<std::string, const GatewayGrant*> by_key;  // hex key -> grant
    for (const auto& g : enforced) by_key[key_to_hex(g.agent_public_key)] = &g;

    // Filter first: a peer is never present without its rules.
    if (auto r = nft_(render_nft_ruleset(options_, enforced)); !r)
        return fail("cannot apply the gateway's nftables rules: " + r.error().message);

    const std::set<std::string> have = device_peers(uapi_("get=1\n"));
    std::string set = "set=1\n";
    for (const auto& hex : have)
        if (!by_key.count(hex)) set += "public_key=" + hex + "\nremove=true\n";
    for (const auto& [hex, g] : by_key)
        set += "public_key=" + hex + "\nreplace_allowed_ips=true\nallowed_ip=" + g->tunnel_address + "\n";
    if (set == "set=1\n") return {};
    if (!uapi_ok(uapi_(set))) return fail("the WireGuard device refused the peer update");
    return {};
}

Result<void> Enforcer::teardown() {
    const std::set<std::string> have = device_peers(uapi_("get=1\n"));
    std::string set = "set=1\n";
    for (const auto& hex : have) set += "public_key=" + hex + "\nremove=true\n";
    if (set != "set=1\n") (void)uapi_(set);
    return nft_(render_nft_teardown(options_));
}

std::map<std::string, PeerStats> Enforcer::stats() {
    std::map<std::string, PeerStats> out;
    const std::string answer = uapi_("get=1\n");
    std::string current;
    std::size_t pos = 0;
    while (pos < answer.size()) {
        const auto nl = answer.find('\n', pos);
        const std::string line = answer.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? answer.size() : nl + 1;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
        if (k == "public_key") {
            current = key_from_hex(v);
            out[current];
        } else if (!current.empty()) {
            if (k == "last_handshake_time_sec") out[current].last_handshake_sec = std::strtoll(v.c_str(), nullptr, 10);
            else if (k == "rx_bytes") out[current].rx_bytes = std::strtoull(v.c_str(), nullptr, 10);
            else if (k == "tx_bytes") out[current].tx_bytes = std::strtoull(v.c_str(), nullptr, 10);
        }
    }
    return out;
}

}  // namespace ztna::gateway
