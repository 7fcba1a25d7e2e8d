#include "command_catalogue.h"

namespace ztna::posture {

namespace catalogue {
std::span<const CommandSpec> linux_commands();
std::span<const CommandSpec> windows_commands();
std::span<const CommandSpec> macos_commands();
std::span<const QuerySpec> linux_queries();
std::span<const QuerySpec> windows_queries();
std::span<const QuerySpec> macos_queries();
}  // namespace catalogue

std::span<const CommandSpec> commands(Platform p) {
    switch (p) {
        case Platform::Linux: return catalogue::linux_commands();
        case Platform::Windows: return catalogue::windows_commands();
        case Platform::Macos: return catalogue::macos_commands();
    }
    return {};
}

std::span<const QuerySpec> queries(Platform p) {
    switch (p) {
        case Platform::Linux: return catalogue::linux_queries();
        case Platform::Windows: return catalogue::windows_queries();
        case Platform::Macos: return catalogue::macos_queries();
    }
    return {};
}

const CommandSpec* find_command(Platform p, std::string_view name) {
    for (const auto& c : commands(p))
        if (c.name == name) return &c;
    return nullptr;
}

const QuerySpec* find_query(Platform p, std::string_view name) {
    for (const auto& q : queries(p))
        if (q.name == name) return &q;
    return nullptr;
}

bool takes_arg(const CommandSpec& spec) { return spec.command_line.find("{arg}") != std::string_view::npos; }

std::vector<std::string> command_argv(const CommandSpec& spec, std::string_view arg) {
    std::vector<std::string> argv;
    std::string_view line = spec.command_line;
    while (!line.empty()) {
        const auto sp = line.find(' ');
        std::string word(line.substr(0, sp));
        for (std::size_t at; (at = word.find("{arg}")) != std::string::npos;) word.replace(at, 5, arg);
        if (!word.empty()) argv.push_back(std::move(word));
        if (sp == std::string_view::npos) break;
        line.remove_prefix(sp + 1);
    }
    return argv;
}

bool valid_token(std::string_view s) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

std::string command_key(std::string_view name, std::string_view arg) {
    std::string key(name);
    if (!arg.empty()) {
        key += '@';
        key += arg;
    }
    return key;
}

Result<const CommandSpec*> check_command(Platform p, std::string_view name, std::string_view arg) {
    const CommandSpec* spec = find_command(p, name);
    if (!spec)
        return fail("command \"" + std::string(name) + "\" is not in the " + std::string(platform_name(p)) +
                    " probe catalogue (posture/PROBES.md)");
    if (takes_arg(*spec) != !arg.empty())
        return fail("command \"" + std::string(name) + (takes_arg(*spec) ? "\" needs a parameter" : "\" takes no parameter"));
    if (!arg.empty() && !valid_token(arg))
        return fail("command \"" + std::string(name) + "\": parameter \"" + std::string(arg).substr(0, 64) +
                    "\" is not a plain name ([A-Za-z0-9._-], at most 64)");
    return spec;
}

Result<const QuerySpec*> check_query(Platform p, std::string_view name) {
    const QuerySpec* spec = find_query(p, name);
    if (!spec)
        return fail("query \"" + std::string(name) + "\" is not in the " + std::string(platform_name(p)) +
                    " probe catalogue (posture/PROBES.md)");
    return spec;
}

bool forbidden_path(std::string_view path) {
    constexpr std::string_view kPrefixes[] = {"/etc/shadow", "/etc/gshadow", "/var/lib/ztna", "/etc/ztna/secrets",
                                              "/root/", "/etc/ssh/ssh_host_", "/etc/ssl/private",
                                              "/proc/kcore", "/dev/"};
    for (auto p : kPrefixes)
        if (path.substr(0, p.size()) == p) return true;
    if (path.find("/..") != std::string_view::npos || path.find("/./") != std::string_view::npos) return true;
    return path.empty() || path[0] != '/';
}

bool holds_private_key(std::string_view content) {
    for (std::size_t at = content.find("-----BEGIN "); at != std::string_view::npos;
         at = content.find("-----BEGIN ", at + 1)) {
        const auto eol = content.find("-----", at + 11);
        if (eol == std::string_view::npos) return false;
        if (content.substr(at, eol - at).find("PRIVATE KEY") != std::string_view::npos) return true;
    }
    return false;
}

}  // namespace ztna::posture
