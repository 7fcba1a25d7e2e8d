#include "linux_common.h"

#include <algorithm>

#include "command_catalogue.h"
#include "text.h"

namespace ztna::posture::probes::linux_detail {

Text read_file(const SystemView& view, std::string_view path, std::size_t max_bytes) {
    auto r = view.file(path, max_bytes);
    // The error is said the same way by every view (a snapshot keeps only what was read, so a
    // replay must not depend on how the device phrased a failure).
    if (!r) return {false, {}, std::string(path) + ": could not be read"};
    return {true, text::decode(*r), {}};
}

Text run(const SystemView& view, std::string_view name, std::string_view arg) {
    auto r = view.command(name, arg);
    if (!r) return {false, {}, command_key(name, arg) + ": no output (not installed, not allowed or failed)"};
    return {true, text::decode(*r), {}};
}

bool readable(const std::string& s) { return !text::trim(s).empty() && !text::looks_binary(s); }

bool plain_name(std::string_view s) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

std::optional<std::vector<Process>> processes(const SystemView& view, std::string* error) {
    auto q = view.query("processes");
    if (!q) {
        *error = "the process list could not be read";
        return std::nullopt;
    }
    if (!q->is_array()) {
        *error = "the process list is not a JSON array";
        return std::nullopt;
    }
    std::vector<Process> out;
    for (const auto& v : q->as_array()) {
        const std::string* name = v.string_at("name");
        const std::int64_t* pid = v.int_at("pid");
        if (!name || !pid) continue;
        Process p;
        p.pid = *pid;
        p.name = *name;
        if (const std::string* exe = v.string_at("exe")) p.exe = *exe;
        out.push_back(std::move(p));
    }
    if (out.empty()) {
        *error = "the process list holds no process entries";
        return std::nullopt;
    }
    return out;
}

bool running(const std::vector<Process>& ps, std::string_view name) {
    return std::any_of(ps.begin(), ps.end(), [&](const Process& p) { return p.name == name; });
}

std::string unescape_octal(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const auto oct = [](char c) { return c >= '0' && c <= '7'; };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
            out += char(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
            continue;
        }
        out += s[i];
    }
    return out;
}

namespace {
std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}
}  // namespace

std::vector<Mount> parse_mounts(std::string_view text) {
    std::vector<Mount> out;
    for (auto line : text::lines(text)) {
        const auto f = fields(line);
        if (f.size() < 4 || f[1].empty() || f[1][0] != '/') continue;
        out.push_back({unescape_octal(f[0]), unescape_octal(f[1]), std::string(f[2])});
        if (out.size() >= 10000) break;
    }
    return out;
}

const Mount* mount_at(const std::vector<Mount>& mounts, std::string_view mount_point) {
    const Mount* found = nullptr;
    for (const auto& m : mounts)
        if (m.mount_point == mount_point) found = &m;
    return found;
}

const Mount* mount_holding(const std::vector<Mount>& mounts, std::string_view path) {
    const Mount* best = nullptr;
    for (const auto& m : mounts) {
        const std::string& mp = m.mount_point;
        const bool prefix = mp == "/" ? !path.empty() && path[0] == '/'
                                      : path.substr(0, mp.size()) == mp && (path.size() == mp.size() || path[mp.size()] == '/');
        if (prefix && (!best || mp.size() >= best->mount_point.size())) best = &m;
    }
    return best;
}

std::vector<Session> parse_sessions(std::string_view text) {
    std::vector<Session> out;
    for (auto line : text::lines(text)) {
        const auto f = fields(line);
        if (f.size() < 3) continue;
        if (!text::to_int(f[1]) || !plain_name(f[0]) || !plain_name(f[2])) continue;
        out.push_back({std::string(f[0]), std::string(f[1]), std::string(f[2])});
        if (out.size() >= 256) break;
    }
    return out;
}

SessionInfo parse_session_info(std::string_view text) {
    SessionInfo s;
    const auto kv = text::key_value_map(text, '=');
    const auto get = [&](const char* k) -> const std::string* {
        const auto it = kv.find(k);
        return it == kv.end() ? nullptr : &it->second;
    };
    const std::string *name = get("name"), *type = get("type"), *cls = get("class"), *active = get("active"),
                      *remote = get("remote"), *desktop = get("desktop");
    if (name) s.name = *name;
    if (type) s.type = text::lower(*type);
    if (cls) s.cls = text::lower(*cls);
    if (desktop) s.desktop = *desktop;
    s.active = active && text::lower(*active) == "yes";
    s.remote = remote && text::lower(*remote) == "yes";
    s.complete = name && type && cls && active && (text::lower(*active) == "yes" || text::lower(*active) == "no");
    return s;
}

ConsoleLookup console_user(const SystemView& view, json::Object& evidence) {
    ConsoleLookup out;
    const Text list = run(view, "loginctl-sessions");
    if (!list.ok) {
        evidence["loginctl_error"] = list.error;
        out.reason = "the login sessions could not be listed (loginctl)";
        return out;
    }
    if (text::looks_binary(list.text)) {
        evidence["loginctl_excerpt"] = text::excerpt(list.text);
        out.reason = "the list of login sessions could not be read";
        return out;
    }
    const auto sessions = parse_sessions(list.text);
    if (sessions.empty() && !text::trim(list.text).empty()) {
        evidence["loginctl_excerpt"] = text::excerpt(list.text);
        out.reason = "the list of login sessions is in a format this agent cannot read";
        return out;
    }
    json::Array seen;
    std::size_t unreadable = 0;
    for (const auto& s : sessions) {
        if (std::find(out.users.begin(), out.users.end(), s.user) == out.users.end()) out.users.push_back(s.user);
        if (seen.size() >= 16) continue;
        const Text info = run(view, "loginctl-session", s.id);
        if (!info.ok || !readable(info.text)) {
            ++unreadable;
            continue;
        }
        const SessionInfo si = parse_session_info(info.text);
        if (!si.complete) {
            ++unreadable;
            continue;
        }
        json::Object o;
        o["id"] = s.id;
        o["user"] = si.name;
        o["type"] = si.type;
        o["class"] = si.cls;
        o["active"] = si.active;
        o["remote"] = si.remote;
        if (!si.desktop.empty()) o["desktop"] = si.desktop;
        seen.push_back(json::Value(std::move(o)));
        if (out.outcome != ConsoleLookup::Outcome::Found && si.cls == "user" && si.active && !si.remote &&
            (si.type == "x11" || si.type == "wayland") && plain_name(si.name)) {
            out.outcome = ConsoleLookup::Outcome::Found;
            out.user = {si.name, s.id, si.type, si.desktop};
        }
    }
    evidence["sessions"] = json::Value(std::move(seen));
    if (out.outcome == ConsoleLookup::Outcome::Found) {
        evidence["console_user"] = out.user.user;
        evidence["console_session"] = out.user.session;
        return out;
    }
    if (unreadable > 0) {
        out.outcome = ConsoleLookup::Outcome::Unreadable;
        out.reason = "the details of " + std::to_string(unreadable) + " login session(s) could not be read";
        return out;
    }
    out.outcome = ConsoleLookup::Outcome::NoDesktop;
    return out;
}

}  // namespace ztna::posture::probes::linux_detail
