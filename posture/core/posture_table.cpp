#include "posture_table.h"

namespace ztna::posture {

namespace {

// Words of s in lines of at most width bytes (a longer word gets a line of its own).
std::vector<std::string> wrap(const std::string& s, std::size_t width) {
    std::vector<std::string> out;
    std::string line;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        const std::size_t j = std::min(s.find(' ', i), s.size());
        if (i == j) break;
        const std::string word = s.substr(i, j - i);
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out.push_back(line);
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        i = j;
    }
    if (!line.empty()) out.push_back(line);
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    return out;
}

}  // namespace

std::string format_table(const std::vector<CheckResult>& results, std::size_t width) {
    constexpr std::size_t kCheck = 17, kStatus = 9;
    const std::size_t text = width > kCheck + kStatus + 20 ? width - kCheck - kStatus : 20;
    const std::string indent(kCheck + kStatus, ' ');
    std::string out = "CHECK            STATUS   SUMMARY / WHAT TO DO\n";
    for (const auto& r : results) {
        std::string head = r.id;
        head.resize(kCheck, ' ');
        std::string status = upper(status_name(r.status));
        status.resize(kStatus, ' ');
        const auto summary = wrap(r.summary, text);
        for (std::size_t k = 0; k < summary.size(); ++k)
            out += (k == 0 ? head + status : indent) + summary[k] + "\n";
        if (summary.empty()) out += head + status + "\n";
        if (!r.remediation.empty()) {
            const auto fix = wrap("To fix: " + r.remediation, text);
            for (const auto& line : fix) out += indent + line + "\n";
        }
    }
    return out;
}

}  // namespace ztna::posture
