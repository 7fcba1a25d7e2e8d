// Is s a DNS name as the policy writes an app's names: lowercase or not,
// letters, digits and '-', labels of 1 to 63, at most 253 in all, at least two
// labels, no leading or trailing dot. Shared by the controller's policy check
// and the agent's split DNS, so both accept exactly the same names.
#pragma once

#include <cctype>
#include <string>

namespace ztna {

inline bool valid_dns_name(const std::string& s) {
    if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
    std::size_t label = 0;
    for (unsigned char c : s) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!(std::isalnum(c) || c == '-')) return false;
        if (++label > 63) return false;
    }
    return s.find('.') != std::string::npos;
}

}  // namespace ztna
