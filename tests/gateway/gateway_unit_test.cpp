// The gateway's pure parts: grants parsed strictly (never widened), the
// nftables ruleset rendered from them, the grant set's expiry, the enforcer's
// peer updates (checked through the UAPI text it sends), and gateway.json.
#include <doctest/doctest.h>

#include <fstream>

#include "enforcer.h"
#include "gateway_config.h"
#include "grant_set.h"
#include "nft_rules.h"

using namespace ztna;
using namespace ztna::gateway;

namespace {

const char* const kKeyA = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const char* const kKeyB = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

json::Value grant_json(const std::string& id, const std::string& key, const std::string& addr) {
    return json::Object{{"id", id},
                        {"app", "hr"},
                        {"agent_public_key", key},
                        {"tunnel_address", addr},
                        {"expires_at", 1000},
                        {"addresses", json::Array{"10.20.0.10/32"}},
                        {"ports", json::Array{"tcp/80", "tcp/8000-8100", "icmp"}}};
}

}  // namespace

TEST_CASE("gateway: grants are parsed strictly; anything that cannot be enforced exactly is refused") {
    auto g = parse_grant(grant_json("gr_1", kKeyA, "100.64.0.2/32"));
    REQUIRE_MESSAGE(g, g.error().message);
    CHECK(g->ports.size() == 3);
    CHECK(g->ports[1].first == 8000);
    CHECK(g->ports[1].last == 8100);
    const std::pair<const char*, json::Value> bad[] = {
        {"tunnel_address", "100.64.0.0/24"},  // a network, not one address: would widen the source
        {"tunnel_address", "nonsense"},
        {"agent_public_key", "short"},
        {"addresses", json::Array{}},
        {"addresses", json::Array{"10.20.0.10"}},
        {"ports", json::Array{"tcp/0"}},
        {"ports", json::Array{"sctp/80"}},
        {"ports", json::Array{"tcp/90-80"}},
        {"id", "GR 1; drop table"},
        {"expires_at", "soon"},
    };
    for (const auto& [field, value] : bad) {
        auto j = grant_json("gr_1", kKeyA, "100.64.0.2/32");
        j.as_object()[field] = value;
        CAPTURE(field);
        CHECK(!parse_grant(j));
    }
    CHECK(!parse_grant(json::Value("x")));
}

TEST_CASE("gateway: the nftables ruleset lets each grant reach only its app, drops the rest, masquerades") {
    auto a = parse_grant(grant_json("gr_a", kKeyA, "100.64.0.2/32")).value();
    const std::string rules = render_nft_ruleset({"ztna_gateway", "ztgw0", "100.64.0.0/24"}, {a});
    CHECK(rules.find("ip saddr 100.64.0.2 ip daddr 10.20.0.10/32 tcp dport 80 counter accept comment \"gr_a\"") != std::string::npos);
    CHECK(rules.find("tcp dport 8000-8100") != std::string::npos);
    CHECK(rules.find("meta l4proto icmp") != std::string::npos);
    CHECK(rules.find("counter drop comment \"not granted\"") != std::string::npos);
    CHECK(rules.find("iifname \"ztgw0\" jump grants") != std::string::npos);
    CHECK(rules.find("oifname \"ztgw0\" ct state established,related accept") != std::string::npos);
    CHECK(rules.find("iifname \"ztgw0\" counter drop comment \"tunnel to gateway host\"") != std::string::npos);
    CHECK(rules.find("ip saddr 100.64.0.0/24 masquerade") != std::string::npos);
    // No grants: only the drops.
    const std::string none = render_nft_ruleset({"ztna_gateway", "ztgw0", "100.64.0.0/24"}, {});
    CHECK(none.find("accept comment") == std::string::npos);
    CHECK(none.find("counter drop comment \"not granted\"") != std::string::npos);
}

TEST_CASE("gateway: the grant set expires on its own clock") {
    GrantSet s;
    auto a = parse_grant(grant_json("gr_a", kKeyA, "100.64.0.2/32")).value();
    auto b = parse_grant(grant_json("gr_b", kKeyB, "100.64.0.3/32")).value();
    b.expires_at = 2000;
    s.replace({a, b});
    CHECK(s.expire(999).empty());
    CHECK(s.expire(1000) == std::vector<std::string>{"gr_a"});
    CHECK(s.grants().size() == 1);
    CHECK(s.remove("gr_b"));
    CHECK(!s.remove("gr_b"));
}

TEST_CASE("gateway: the enforcer applies rules before peers, one peer per grant, and refuses a reused key") {
    std::vector<std::string> log;
    std::string device_peers;  // what get=1 answers
    Enforcer e(
        [&](const std::string& req) {
            log.push_back("uapi:" + req);
            if (req == "get=1\n") return device_peers + "errno=0\n\n";
            return std::string("errno=0\n\n");
        },
        [&](const std::string& script) -> Result<void> {
            log.push_back("nft:" + script);
            return {};
        },
        {"ztna_gateway", "ztgw0", "100.64.0.0/24"});
    auto a = parse_grant(grant_json("gr_a", kKeyA, "100.64.0.2/32")).value();
    auto dup = parse_grant(grant_json("gr_dup", kKeyA, "100.64.0.9/32")).value();
    std::vector<std::string> refused;
    REQUIRE(e.apply({a, dup}, &refused));
    CHECK(refused == std::vector<std::string>{"gr_dup"});
    REQUIRE(log.size() == 3);
    CHECK(log[0].rfind("nft:", 0) == 0);
    CHECK(log[0].find("gr_dup") == std::string::npos);
    CHECK(log[1] == "uapi:get=1\n");
    CHECK(log[2] == "uapi:set=1\npublic_key=" + key_to_hex(kKeyA) + "\nreplace_allowed_ips=true\nallowed_ip=100.64.0.2/32\n");
    // The grant goes: its peer is removed after the rules.
    log.clear();
    device_peers = "public_key=" + key_to_hex(kKeyA) + "\nallowed_ip=100.64.0.2/32\n";
    REQUIRE(e.apply({}));
    REQUIRE(log.size() == 3);
    CHECK(log[0].find("gr_a") == std::string::npos);
    CHECK(log[2] == "uapi:set=1\npublic_key=" + key_to_hex(kKeyA) + "\nremove=true\n");
    CHECK(key_from_hex(key_to_hex(kKeyB)) == kKeyB);
    CHECK(key_to_hex("not a key").empty());
}

TEST_CASE("gateway: gateway.json errors name the field") {
    const std::string path = "/tmp/ztna-gateway-config-test.json";
    const auto load = [&](const std::string& text) {
        std::ofstream(path) << text;
        auto r = load_gateway_config(path);
        std::remove(path.c_str());
        return r;
    };
    const std::string good = R"({"gateway_id": "gw1", "controller_url": "https://ctl:8443", "controller_ca": "ca.pem",
        "token_file": "gw1.token", "private_key_file": "gw1.key", "tunnel_address": "100.64.0.1/24"})";
    auto ok = load(good);
    REQUIRE_MESSAGE(ok, ok.error().message);
    CHECK(ok->controller_ca == "/tmp/ca.pem");
    CHECK(*network_of("100.64.0.1/24") == "100.64.0.0/24");
    CHECK(load("{}").error().message.find("\"gateway_id\" is missing") != std::string::npos);
    CHECK(load(R"({"gateway": "x"})").error().message.find("unknown field \"gateway\"") != std::string::npos);
    std::string bad_addr = good;
    bad_addr.replace(bad_addr.find("100.64.0.1/24"), 13, "100.64.0.1");
    CHECK(load(bad_addr).error().message.find("tunnel_address") != std::string::npos);
}
