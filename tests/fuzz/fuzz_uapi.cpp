// libFuzzer target: the UAPI codec. Any text is parsed without crashing; a
// request that parses is formatted back and must parse again.
#include <cstdint>
#include <string>
#include <string_view>

#include "uapi_codec.h"

using namespace ztna::tunnel::io;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* in, std::size_t n) {
    const std::string_view text(reinterpret_cast<const char*>(in), n);
    UapiError err{};
    auto req = parse_request(text, err);
    if (!req) {
        if (err.errno_value == 0 || err.message.empty()) __builtin_trap();  // every refusal says why
        return 0;
    }
    if (req->op != UapiOp::Set) return 0;
    UapiDeviceGet d;
    d.private_key = req->set.private_key;
    d.listen_port = req->set.listen_port.value_or(0);
    d.fwmark = req->set.fwmark.value_or(0);
    for (const auto& p : req->set.peers) {
        UapiPeerGet g;
        g.public_key = p.public_key;
        if (p.preshared_key) g.preshared_key = *p.preshared_key;
        g.endpoint = p.endpoint;
        g.persistent_keepalive = p.persistent_keepalive.value_or(0);
        g.allowed_ips = p.allowed_ips;
        d.peers.push_back(g);
    }
    const std::string out = format_get(d);
    if (out.size() < 9 || out.substr(out.size() - 9) != "errno=0\n\n") __builtin_trap();
    return 0;
}
