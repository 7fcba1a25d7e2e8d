#include "agent_nft_rules.h"

#include "ztna/grant_nft.h"

namespace ztna::agent {

std::string render_agent_nft(const std::string& table, const std::string& ifname, const std::vector<Grant>& grants) {
    std::string s = render_agent_nft_teardown(table);
    s += "table inet " + table + " {\n";
    s += "  chain out {\n";
    s += "    type filter hook output priority filter; policy accept;\n";
    s += "    oifname != \"" + ifname + "\" accept\n";
    for (const auto& g : grants)  // the comment carries the id only: parse_grant checked it
        for (const auto& match : nft_grant_matches(g)) s += "    " + match + " counter accept comment \"" + g.id + "\"\n";
    s += "    counter drop comment \"not granted\"\n";
    s += "  }\n";
    s += "}\n";
    return s;
}

std::string render_agent_nft_teardown(const std::string& table) {
    return "table inet " + table + " {}\ndelete table inet " + table + "\n";
}

}  // namespace ztna::agent
