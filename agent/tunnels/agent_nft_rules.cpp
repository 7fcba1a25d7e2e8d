#include "agent_nft_rules.h"

namespace ztna::agent {

namespace {
std::string host_of(const std::string& prefix) { return prefix.substr(0, prefix.find('/')); }
bool is_v6(const std::string& prefix) { return prefix.find(':') != std::string::npos; }
}  // namespace

std::string render_agent_nft(const std::string& table, const std::string& ifname, const std::vector<Grant>& grants) {
    std::string s = render_agent_nft_teardown(table);
    s += "table inet " + table + " {\n";
    s += "  chain out {\n";
    s += "    type filter hook output priority filter; policy accept;\n";
    s += "    oifname != \"" + ifname + "\" accept\n";
    for (const auto& g : grants) {
        const bool v6 = is_v6(g.tunnel_address);
        const std::string fam = v6 ? "ip6" : "ip";
        for (const auto& dst : g.addresses) {
            if (is_v6(dst) != v6) continue;
            for (const auto& p : g.ports) {
                std::string match = fam + " saddr " + host_of(g.tunnel_address) + " " + fam + " daddr " + dst;
                if (p.protocol == "icmp") match += v6 ? " meta l4proto ipv6-icmp" : " meta l4proto icmp";
                else {
                    match += " " + p.protocol + " dport " + std::to_string(p.first);
                    if (p.last != p.first) match += "-" + std::to_string(p.last);
                }
                s += "    " + match + " counter accept comment \"" + g.id + "\"\n";  // the id only: parse_grant checked it
            }
        }
    }
    s += "    counter drop comment \"not granted\"\n";
    s += "  }\n";
    s += "}\n";
    return s;
}

std::string render_agent_nft_teardown(const std::string& table) {
    return "table inet " + table + " {}\ndelete table inet " + table + "\n";
}

}  // namespace ztna::agent
