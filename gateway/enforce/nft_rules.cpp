#include "nft_rules.h"

#include "ztna/grant_nft.h"

namespace ztna::gateway {

namespace {

bool is_v6(const std::string& prefix) { return prefix.find(':') != std::string::npos; }

}  // namespace

std::string render_nft_ruleset(const NftOptions& o, const std::vector<GatewayGrant>& grants) {
    // The table is created empty first so that "delete" never fails, then
    // replaced: nft -f applies the whole text in one transaction.
    std::string s;
    s += "table inet " + o.table + " {}\n";
    s += "delete table inet " + o.table + "\n";
    s += "table inet " + o.table + " {\n";
    s += "  chain grants {\n";
    for (const auto& g : grants)
        for (const auto& match : nft_grant_matches(g)) s += "    " + match + " counter accept comment \"" + g.id + "\"\n";
    s += "    counter drop comment \"not granted\"\n";
    s += "  }\n";
    s += "  chain forward {\n";
    s += "    type filter hook forward priority filter; policy accept;\n";
    s += "    iifname \"" + o.tunnel_interface + "\" jump grants\n";
    s += "    oifname \"" + o.tunnel_interface + "\" ct state established,related accept\n";
    s += "    oifname \"" + o.tunnel_interface + "\" counter drop comment \"not a reply\"\n";
    s += "  }\n";
    s += "  chain input {\n";
    s += "    type filter hook input priority filter; policy accept;\n";
    s += "    iifname \"" + o.tunnel_interface + "\" counter drop comment \"tunnel to gateway host\"\n";
    s += "  }\n";
    s += "  chain postrouting {\n";
    s += "    type nat hook postrouting priority srcnat; policy accept;\n";
    s += "    oifname != \"" + o.tunnel_interface + "\" " + std::string(is_v6(o.tunnel_network) ? "ip6" : "ip") + " saddr " +
         o.tunnel_network + " masquerade\n";
    s += "  }\n";
    s += "}\n";
    return s;
}

std::string render_nft_teardown(const NftOptions& o) {
    return "table inet " + o.table + " {}\ndelete table inet " + o.table + "\n";
}

}  // namespace ztna::gateway
