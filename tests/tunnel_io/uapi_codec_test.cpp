#include <doctest/doctest.h>

#include "uapi_codec.h"

using namespace ztna::tunnel::io;

namespace {
const std::string kHexA(64, 'a');
const std::string kHexB = std::string(62, '0') + "01";

std::optional<UapiRequest> parse(const std::string& s, UapiError& e) { return parse_request(s, e); }
}  // namespace

TEST_CASE("a full set request, as wg setconf sends it") {
    const std::string req = "set=1\nprivate_key=" + kHexA + "\nlisten_port=51820\nfwmark=0x0\n";
    UapiError e{};
    CHECK_FALSE(parse(req, e));  // fwmark is decimal in the UAPI
    CHECK(e.errno_value == uapi_errno::kInvalid);
    CHECK(e.message.find("fwmark") != std::string::npos);

    const std::string ok = "set=1\nprivate_key=" + kHexA + "\nlisten_port=51820\nfwmark=42\nreplace_peers=true\n" +
                           "public_key=" + kHexB + "\npreshared_key=" + kHexA +
                           "\nendpoint=[fd00::1]:51821\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
                           "allowed_ip=10.0.0.2/32\nallowed_ip=fd00::/64\nprotocol_version=1\n"
                           "public_key=" + kHexA + "\nremove=true\n";
    auto r = parse(ok, e);
    REQUIRE(r);
    CHECK(r->op == UapiOp::Set);
    CHECK(r->set.listen_port == 51820);
    CHECK(r->set.fwmark == 42u);
    CHECK(r->set.replace_peers);
    REQUIRE(r->set.peers.size() == 2);
    const auto& p = r->set.peers[0];
    CHECK(p.public_key[31] == 1);
    REQUIRE(p.endpoint);
    CHECK(to_string(*p.endpoint) == "[fd00::1]:51821");
    CHECK(p.persistent_keepalive == 25);
    CHECK(p.replace_allowed_ips);
    REQUIRE(p.allowed_ips.size() == 2);
    CHECK(r->set.peers[1].remove);
}

TEST_CASE("errors carry wireguard-go's errno values and never echo the value") {
    struct Case {
        std::string text;
        int err;
    };
    const std::string secret = std::string(63, 'f') + "g";  // not hex: must not appear in the message
    for (const auto& c : std::vector<Case>{
             {"", uapi_errno::kProtocol},
             {"get=2", uapi_errno::kProtocol},
             {"get=1\nprivate_key=" + kHexA, uapi_errno::kProtocol},
             {"set=1\nbogus", uapi_errno::kProtocol},
             {"set=1\n=x", uapi_errno::kProtocol},
             {"set=1\nfrobnicate=1", uapi_errno::kInvalid},
             {"set=1\nprivate_key=" + secret, uapi_errno::kInvalid},
             {"set=1\nlisten_port=65536", uapi_errno::kInvalid},
             {"set=1\nlisten_port=-1", uapi_errno::kInvalid},
             {"set=1\nreplace_peers=false", uapi_errno::kInvalid},
             {"set=1\nendpoint=1.2.3.4:5", uapi_errno::kInvalid},  // peer key before any public_key
             {"set=1\npublic_key=" + kHexA + "\nendpoint=fd00::1:5", uapi_errno::kInvalid},
             {"set=1\npublic_key=" + kHexA + "\nendpoint=1.2.3.4", uapi_errno::kInvalid},
             {"set=1\npublic_key=" + kHexA + "\nallowed_ip=10.0.0.0/40", uapi_errno::kInvalid},
             {"set=1\npublic_key=" + kHexA + "\nprotocol_version=2", uapi_errno::kProtocol},
             {"set=1\npublic_key=" + kHexA + "\nlisten_port=1", uapi_errno::kInvalid},
             {"set=1\npublic_key=" + kHexA + "\n\nremove=true", uapi_errno::kProtocol},
         }) {
        CAPTURE(c.text);
        UapiError e{};
        CHECK_FALSE(parse(c.text, e));
        CHECK(e.errno_value == c.err);
        CHECK_FALSE(e.message.empty());
        CHECK(e.message.find(secret) == std::string::npos);
    }
}

TEST_CASE("get output lists device then peers and ends with errno=0") {
    UapiDeviceGet d;
    d.listen_port = 51820;
    UapiPeerGet p;
    p.public_key[0] = 0xab;
    p.endpoint = parse_endpoint("192.0.2.1:7");
    p.last_handshake_sec = 12;
    p.tx_bytes = 100;
    p.rx_bytes = 200;
    p.allowed_ips = {*parse_prefix("10.0.0.0/24")};
    d.peers.push_back(p);
    const std::string out = format_get(d);
    CHECK(out.find("private_key=") == std::string::npos);  // no key configured: not listed
    CHECK(out.rfind("listen_port=51820\npublic_key=ab", 0) == 0);
    CHECK(out.find("endpoint=192.0.2.1:7\n") != std::string::npos);
    CHECK(out.find("last_handshake_time_sec=12\n") != std::string::npos);
    CHECK(out.find("tx_bytes=100\nrx_bytes=200\n") != std::string::npos);
    CHECK(out.find("allowed_ip=10.0.0.0/24\nerrno=0\n\n") != std::string::npos);
    // Negative on the wire, as wireguard-go answers and wg(8) expects ("Address already in use").
    CHECK(format_errno(98) == "errno=-98\n\n");
    CHECK(format_errno(0) == "errno=0\n\n");
}
