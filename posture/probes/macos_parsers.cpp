#include "macos_parsers.h"

#include <algorithm>
#include <charconv>

#include "command_catalogue.h"
#include "text.h"

namespace ztna::posture::macos {

namespace {

Output usable(const std::string& raw, std::string_view label) {
    Output out;
    std::string decoded = text::decode(raw);
    if (text::looks_binary(decoded)) {
        out.error = std::string(label) + ": output is binary, not text";
        return out;
    }
    if (text::trim(decoded).empty()) {
        out.error = std::string(label) + ": empty output";
        return out;
    }
    out.text = std::move(decoded);
    return out;
}

// "Key: value" with the key compared case-insensitively; the value trimmed.
std::optional<std::string_view> value_after(std::string_view line, std::string_view key) {
    line = text::trim(line);
    if (!text::starts_with_icase(line, key)) return std::nullopt;
    line.remove_prefix(key.size());
    line = text::trim(line);
    if (line.empty() || line[0] != ':') return std::nullopt;
    line.remove_prefix(1);
    return text::trim(line);
}

// The whole percent of "... Percent completed = 42.5": nothing when absent.
std::optional<int> percent_in(std::string_view line) {
    const std::string l = text::lower(line);
    const auto at = l.find("percent completed");
    if (at == std::string::npos) return std::nullopt;
    std::string_view rest = std::string_view(line).substr(at + 17);
    rest = text::trim(rest);
    if (!rest.empty() && (rest[0] == '=' || rest[0] == ':')) rest.remove_prefix(1);
    rest = text::trim(rest);
    std::size_t n = 0;
    while (n < rest.size() && n < 3 && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 0) return std::nullopt;
    // A fraction may follow ("42.17"); anything else after the number is not this format.
    std::size_t end = n;
    if (end < rest.size() && rest[end] == '.') {
        ++end;
        while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
    }
    if (end < rest.size() && rest[end] != '%') return std::nullopt;
    const auto v = text::to_int(rest.substr(0, n));
    if (!v || *v < 0 || *v > 100) return std::nullopt;
    return int(*v);
}

bool is_yes(std::string_view v) { return text::starts_with_icase(v, "yes"); }
bool is_no(std::string_view v) { return text::lower(text::trim(v)) == "no"; }

std::string unquote(std::string_view v) {
    v = text::trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
}

std::optional<bool> parse_bool(std::string_view v) {
    const std::string l = text::lower(unquote(v));
    if (l == "true") return true;
    if (l == "false") return false;
    return std::nullopt;
}

// Integers of exactly `digits` digits at s[at...].
std::optional<int> fixed_int(std::string_view s, std::size_t at, std::size_t digits) {
    if (at + digits > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = unsigned((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + std::int64_t(doe) - 719468;
}

}  // namespace

Output read_command(const SystemView& view, std::string_view name, std::string_view arg) {
    auto r = view.command(name, arg);
    if (!r) return Output{std::nullopt, r.error().message, false};
    Output out = usable(*r, command_key(name, arg));
    out.answered = true;
    return out;
}

Output read_file(const SystemView& view, std::string_view path) {
    auto r = view.file(path);
    if (!r) return Output{std::nullopt, r.error().message, false};
    Output out = usable(*r, path);
    out.answered = true;
    return out;
}

// ---------------------------------------------------------------------------

std::string_view filevault_state_name(FileVaultState s) {
    switch (s) {
        case FileVaultState::On: return "on";
        case FileVaultState::Off: return "off";
        case FileVaultState::Deferred: return "deferred";
        case FileVaultState::Encrypting: return "encrypting";
        case FileVaultState::EncryptionPaused: return "encryption_paused";
        case FileVaultState::Decrypting: return "decrypting";
        case FileVaultState::DecryptionPaused: return "decryption_paused";
    }
    return "off";
}

std::optional<FileVaultStatus> parse_fdesetup_status(std::string_view text) {
    bool on = false, off = false, deferred = false;
    std::optional<FileVaultState> progress;
    std::optional<int> percent;
    for (std::string_view line : text::lines(text)) {
        line = text::trim(line);
        if (line.empty()) continue;
        if (text::starts_with_icase(line, "FileVault is On")) on = true;
        else if (text::starts_with_icase(line, "FileVault is Off")) {
            off = true;
            // Older CoreStorage wording: "FileVault is Off, but will be enabled after the next restart."
            if (text::contains_icase(line, "will be enabled")) deferred = true;
        } else if (text::starts_with_icase(line, "Deferred enablement appears to be active")) deferred = true;
        else if (text::starts_with_icase(line, "Encryption in progress")) progress = FileVaultState::Encrypting;
        else if (text::starts_with_icase(line, "Encryption paused")) progress = FileVaultState::EncryptionPaused;
        else if (text::starts_with_icase(line, "Decryption in progress")) progress = FileVaultState::Decrypting;
        else if (text::starts_with_icase(line, "Decryption paused")) progress = FileVaultState::DecryptionPaused;
        else continue;  // "FileVault master keychain appears to be installed." and other notes
        if (progress && !percent) percent = percent_in(line);
    }
    if (on && off) return std::nullopt;  // contradicts itself: not one run of fdesetup
    if (progress) return FileVaultStatus{*progress, percent};
    if (on && !deferred) return FileVaultStatus{FileVaultState::On, std::nullopt};
    if (off || deferred) return FileVaultStatus{deferred ? FileVaultState::Deferred : FileVaultState::Off, std::nullopt};
    return std::nullopt;
}

std::optional<Enrollment> parse_profiles_enrollment(std::string_view text) {
    std::optional<bool> dep, mdm;
    Enrollment e;
    for (std::string_view line : text::lines(text)) {
        if (auto v = value_after(line, "Enrolled via DEP")) {
            if (is_yes(*v)) dep = true;
            else if (is_no(*v)) dep = false;
            else return std::nullopt;
        } else if (auto m = value_after(line, "MDM enrollment")) {
            if (is_yes(*m)) {
                mdm = true;
                e.user_approved = text::contains_icase(*m, "user approved");
            } else if (is_no(*m)) {
                mdm = false;
            } else {
                return std::nullopt;
            }
        } else if (auto s = value_after(line, "MDM server")) {
            std::string_view url = *s;
            const auto scheme = url.find("://");
            if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
            const auto end = url.find_first_of("/?#:@ ");
            e.server_host = text::excerpt(url.substr(0, end), 120);
        }
    }
    if (!mdm) return std::nullopt;  // the decisive line is missing
    e.mdm = *mdm;
    e.dep = dep.value_or(false);
    if (!e.mdm) e.user_approved = false;
    return e;
}

std::optional<int> parse_socketfilterfw_state(std::string_view text) {
    std::optional<int> state;
    for (std::string_view line : text::lines(text)) {
        line = text::trim(line);
        if (!text::starts_with_icase(line, "Firewall is ")) continue;
        const auto at = line.find("(State = ");
        std::optional<int> s;
        if (at != std::string_view::npos) {
            const auto close = line.find(')', at);
            if (close == std::string_view::npos) return std::nullopt;
            const auto v = text::to_int(line.substr(at + 9, close - at - 9));
            if (!v || *v < 0 || *v > 2) return std::nullopt;
            s = int(*v);
        } else if (text::starts_with_icase(line, "Firewall is enabled")) {
            s = 1;
        } else if (text::starts_with_icase(line, "Firewall is disabled")) {
            s = 0;
        } else if (text::starts_with_icase(line, "Firewall is blocking all")) {
            s = 2;
        } else {
            continue;
        }
        // The words and the number must agree.
        const bool says_off = text::starts_with_icase(line, "Firewall is disabled");
        if (says_off != (*s == 0)) return std::nullopt;
        if (state && *state != *s) return std::nullopt;
        state = s;
    }
    return state;
}

std::optional<bool> parse_socketfilterfw_stealth(std::string_view text) {
    std::optional<bool> on;
    for (std::string_view line : text::lines(text)) {
        const std::string l = text::lower(text::trim(line));
        std::optional<bool> v;
        // "Stealth mode enabled" (up to macOS 13), "Firewall stealth mode is on" (14 and later).
        if (l.rfind("stealth mode enabled", 0) == 0 || l.rfind("firewall stealth mode is on", 0) == 0) v = true;
        else if (l.rfind("stealth mode disabled", 0) == 0 || l.rfind("firewall stealth mode is off", 0) == 0) v = false;
        else continue;
        if (on && *on != *v) return std::nullopt;
        on = v;
    }
    return on;
}

std::optional<SwVers> parse_sw_vers(std::string_view text) {
    SwVers s;
    for (std::string_view line : text::lines(text)) {
        if (auto v = value_after(line, "ProductName")) s.product_name = text::excerpt(*v, 40);
        else if (auto v2 = value_after(line, "ProductVersionExtra")) s.version_extra = text::excerpt(*v2, 20);
        else if (auto v3 = value_after(line, "ProductVersion")) s.product_version = std::string(*v3);
        else if (auto v4 = value_after(line, "BuildVersion")) s.build_version = text::excerpt(*v4, 20);
    }
    if (s.product_version.empty() || s.product_version.size() > 20) return std::nullopt;
    if (!text::compare_versions(s.product_version, s.product_version)) return std::nullopt;  // not a version
    for (char c : s.product_version)
        if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
    if (!text::contains_icase(s.product_name, "mac")) return std::nullopt;  // "macOS", "Mac OS X"
    return s;
}

std::optional<std::string> plist_string(std::string_view xml, std::string_view key) {
    if (xml.find("<plist") == std::string_view::npos) return std::nullopt;
    const std::string tag = "<key>" + std::string(key) + "</key>";
    const auto at = xml.find(tag);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = xml.substr(at + tag.size());
    rest = text::trim(rest);
    constexpr std::string_view open = "<string>", close = "</string>";
    if (rest.substr(0, open.size()) != open) return std::nullopt;
    rest.remove_prefix(open.size());
    const auto end = rest.find(close);
    if (end == std::string_view::npos || end > 200) return std::nullopt;
    const std::string_view value = text::trim(rest.substr(0, end));
    if (value.empty() || value.find('<') != std::string_view::npos) return std::nullopt;
    return std::string(value);
}

std::optional<std::int64_t> parse_iso8601_utc(std::string_view s) {
    s = text::trim(s);
    // YYYY-MM-DDTHH:MM:SSZ, exactly.
    if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return std::nullopt;
    const auto y = fixed_int(s, 0, 4), mo = fixed_int(s, 5, 2), d = fixed_int(s, 8, 2);
    const auto h = fixed_int(s, 11, 2), mi = fixed_int(s, 14, 2), se = fixed_int(s, 17, 2);
    if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
    if (*y < 1970 || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
    return days_from_civil(*y, *mo, *d) * 86400 + *h * 3600 + *mi * 60 + *se;
}

std::optional<std::vector<InstallRecord>> parse_xprotect_history(const json::Value& doc) {
    const json::Array* items = doc.array_at("SPInstallHistoryDataType");
    if (!items) return std::nullopt;
    std::vector<InstallRecord> out;
    for (const json::Value& item : *items) {
        const std::string* name = item.string_at("_name");
        if (!name) continue;
        if (name->rfind("XProtectPlistConfigData", 0) != 0 && name->rfind("XProtectPayloads", 0) != 0) continue;
        const std::string* date = item.string_at("install_date");
        const auto when = date ? parse_iso8601_utc(*date) : std::nullopt;
        if (!when) return std::nullopt;  // an XProtect record without a readable date: not trustworthy
        InstallRecord r;
        r.name = text::excerpt(*name, 60);
        if (const std::string* v = item.string_at("install_version")) r.version = text::excerpt(*v, 30);
        r.when = *when;
        r.date = *date;
        out.push_back(std::move(r));
    }
    return out;
}

std::optional<DefenderHealth> parse_mdatp_health(std::string_view text) {
    std::optional<bool> healthy, rtp;
    DefenderHealth h;
    for (const auto& [key, value] : text::key_values(text, ':')) {
        const std::string k = text::lower(key);
        if (k == "healthy") {
            healthy = parse_bool(value);
            if (!healthy) return std::nullopt;
        } else if (k == "real_time_protection_enabled") {
            rtp = parse_bool(value);
            if (!rtp) return std::nullopt;
        } else if (k == "definitions_status") {
            h.definitions_status = text::excerpt(unquote(value), 40);
        } else if (k == "definitions_updated_minutes_ago") {
            h.definitions_minutes_ago = text::to_int(unquote(value));
        } else if (k == "definitions_version") {
            h.definitions_version = text::excerpt(unquote(value), 40);
        } else if (k == "app_version") {
            h.app_version = text::excerpt(unquote(value), 40);
        } else if (k == "health_issues") {
            // ["no active event provider", "missing license"] or []
            std::string_view v = text::trim(value);
            if (v.size() >= 2 && v.front() == '[' && v.back() == ']') {
                v = v.substr(1, v.size() - 2);
                while (!v.empty() && h.health_issues.size() < 10) {
                    const auto comma = v.find(',');
                    const std::string issue = unquote(v.substr(0, comma));
                    if (!issue.empty()) h.health_issues.push_back(text::excerpt(issue, 80));
                    if (comma == std::string_view::npos) break;
                    v.remove_prefix(comma + 1);
                }
            }
        }
    }
    if (!healthy || !rtp) return std::nullopt;
    h.healthy = *healthy;
    h.real_time_protection = *rtp;
    return h;
}

std::optional<int> parse_sysadminctl_screenlock(std::string_view text) {
    std::optional<int> result;
    for (std::string_view line : text::lines(text)) {
        // "2024-03-20 10:11:12.345 sysadminctl[1234:56789] screenLock delay is 300 seconds"
        const std::string l = text::lower(line);
        std::optional<int> v;
        if (const auto off = l.find("screenlock is off"); off != std::string::npos) {
            v = -1;
        } else if (const auto at = l.find("screenlock delay is "); at != std::string::npos) {
            std::string_view rest = std::string_view(l).substr(at + 20);
            rest = text::trim(rest);
            if (rest.rfind("immediate", 0) == 0) {
                v = 0;
            } else {
                // "300 seconds", "5 seconds", "-1.000000 seconds"
                const auto sp = rest.find(' ');
                if (sp == std::string_view::npos || rest.substr(sp + 1).rfind("second", 0) != 0) return std::nullopt;
                std::string_view number = rest.substr(0, sp);
                if (const auto dot = number.find('.'); dot != std::string_view::npos) {
                    for (char c : number.substr(dot + 1))
                        if (c != '0') return std::nullopt;
                    number = number.substr(0, dot);
                }
                const auto n = text::to_int(number);
                if (!n || *n > 86400 * 7) return std::nullopt;
                v = *n < 0 ? -1 : int(*n);
            }
        } else {
            continue;
        }
        if (result && *result != *v) return std::nullopt;
        result = v;
    }
    return result;
}

std::optional<int> parse_defaults_int(std::string_view text) {
    const auto v = text::to_int(text::trim(text));
    if (!v || *v < 0 || *v > 86400 * 7) return std::nullopt;
    return int(*v);
}

std::optional<int> parse_pmset_displaysleep(std::string_view text) {
    bool looks_like_pmset = false;
    std::optional<int> minutes;
    for (std::string_view line : text::lines(text)) {
        const std::string_view t = text::trim(line);
        if (text::starts_with_icase(t, "Currently in use") || text::starts_with_icase(t, "System-wide power settings"))
            looks_like_pmset = true;
        if (t.substr(0, 12) != "displaysleep") continue;
        std::string_view rest = t.substr(12);
        if (rest.empty() || (rest[0] != ' ' && rest[0] != '\t')) continue;
        rest = text::trim(rest);
        // "10", or "10 (display sleep prevented by zoom.us)"
        const auto end = rest.find_first_of(" \t");
        const auto v = text::to_int(rest.substr(0, end));
        if (!v || *v < 0 || *v > 100000) return std::nullopt;
        if (minutes && *minutes != int(*v)) return std::nullopt;
        minutes = int(*v);
    }
    if (!looks_like_pmset) return std::nullopt;
    return minutes;
}

}  // namespace ztna::posture::macos
