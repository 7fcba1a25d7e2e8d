#include "text.h"

#include <charconv>

#include "ztna/json.h"

namespace ztna::posture::text {

namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

std::string from_utf16(std::string_view raw, bool little) {
    std::string out;
    out.reserve(raw.size() / 2);
    const auto unit = [&](std::size_t i) -> std::uint32_t {
        const auto a = std::uint8_t(raw[i]), b = std::uint8_t(raw[i + 1]);
        return little ? (std::uint32_t(b) << 8 | a) : (std::uint32_t(a) << 8 | b);
    };
    for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
        std::uint32_t u = unit(i);
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < raw.size()) {
            const std::uint32_t lo = unit(i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                i += 2;
                continue;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;
        append_utf8(out, u);
    }
    return out;
}

// UTF-16LE without a BOM: ASCII text has a zero in every odd byte.
bool looks_utf16le(std::string_view raw) {
    if (raw.size() < 4 || raw.size() % 2) return false;
    std::size_t zeros = 0, pairs = 0;
    for (std::size_t i = 0; i + 1 < raw.size() && pairs < 256; i += 2, ++pairs)
        if (raw[i + 1] == 0 && raw[i] != 0) ++zeros;
    return zeros * 10 >= pairs * 9;
}

}  // namespace

std::string decode(std::string_view raw) {
    std::string s;
    if (raw.size() >= 2 && std::uint8_t(raw[0]) == 0xFF && std::uint8_t(raw[1]) == 0xFE) {
        s = from_utf16(raw.substr(2), true);
    } else if (raw.size() >= 2 && std::uint8_t(raw[0]) == 0xFE && std::uint8_t(raw[1]) == 0xFF) {
        s = from_utf16(raw.substr(2), false);
    } else if (looks_utf16le(raw)) {
        s = from_utf16(raw, true);
    } else {
        if (raw.size() >= 3 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
        s = json::to_valid_utf8(raw);
    }
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] == '\n')) continue;
        out += s[i];
    }
    return out;
}

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == lower(prefix);
}

bool contains_icase(std::string_view s, std::string_view needle) {
    return lower(s).find(lower(needle)) != std::string::npos;
}

std::vector<std::string_view> lines(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        const auto nl = s.find('\n');
        if (nl == std::string_view::npos) {
            out.push_back(s);
            break;
        }
        out.push_back(s.substr(0, nl));
        s.remove_prefix(nl + 1);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> key_values(std::string_view s, char sep) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto line : lines(s)) {
        const auto at = line.find(sep);
        if (at == std::string_view::npos) continue;
        const auto key = trim(line.substr(0, at));
        if (key.empty()) continue;
        out.emplace_back(std::string(key), std::string(trim(line.substr(at + 1))));
    }
    return out;
}

std::map<std::string, std::string> key_value_map(std::string_view s, char sep) {
    std::map<std::string, std::string> out;
    for (auto& [k, v] : key_values(s, sep)) out.emplace(lower(k), std::move(v));
    return out;
}

std::optional<int> compare_versions(std::string_view a, std::string_view b) {
    const auto parts = [](std::string_view v) -> std::optional<std::vector<long>> {
        v = trim(v);
        if (v.empty() || v[0] < '0' || v[0] > '9') return std::nullopt;
        std::vector<long> out;
        while (!v.empty() && v[0] >= '0' && v[0] <= '9') {
            long n = 0;
            std::size_t k = 0;
            while (k < v.size() && v[k] >= '0' && v[k] <= '9') {
                if (k >= 9) return std::nullopt;
                n = n * 10 + (v[k] - '0');
                ++k;
            }
            out.push_back(n);
            v.remove_prefix(k);
            if (v.size() >= 2 && v[0] == '.' && v[1] >= '0' && v[1] <= '9') v.remove_prefix(1);
            else break;
        }
        return out;
    };
    const auto pa = parts(a), pb = parts(b);
    if (!pa || !pb) return std::nullopt;
    const std::size_t n = std::max(pa->size(), pb->size());
    for (std::size_t i = 0; i < n; ++i) {
        const long x = i < pa->size() ? (*pa)[i] : 0, y = i < pb->size() ? (*pb)[i] : 0;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

std::string excerpt(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) out += (std::uint8_t(c) < 0x20 || c == 0x7F) ? ' ' : c;
    std::string valid = json::to_valid_utf8(out);
    if (s.size() > max) valid += "...";
    return valid;
}

bool looks_binary(std::string_view s) {
    if (s.find('\0') != std::string_view::npos) return true;
    const std::size_t n = std::min<std::size_t>(s.size(), 4096);
    std::size_t odd = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = std::uint8_t(s[i]);
        if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F) ++odd;
    }
    return n > 0 && odd * 10 > n;
}

std::optional<long long> to_int(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    long long v;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

}  // namespace ztna::posture::text
