#include "ztna/grant_nft.h"

namespace ztna {

std::vector<std::string> nft_grant_matches(const Grant& g) {
    const auto is_v6 = [](const std::string& p) { return p.find(':') != std::string::npos; };
    const bool v6 = is_v6(g.tunnel_address);
    const std::string fam = v6 ? "ip6" : "ip";
    const std::string src = g.tunnel_address.substr(0, g.tunnel_address.find('/'));
    std::vector<std::string> out;
    for (const auto& dst : g.addresses) {
        if (is_v6(dst) != v6) continue;
        for (const auto& p : g.ports) {
            std::string m = fam + " saddr " + src + " " + fam + " daddr " + dst;
            if (p.protocol == "icmp") {
                m += v6 ? " meta l4proto ipv6-icmp" : " meta l4proto icmp";
            } else {
                m += " " + p.protocol + " dport " + std::to_string(p.first);
                if (p.last != p.first) m += "-" + std::to_string(p.last);
            }
            out.push_back(std::move(m));
        }
    }
    return out;
}

}  // namespace ztna
