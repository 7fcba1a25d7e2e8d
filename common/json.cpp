#include "ztna/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ztna::json {

const Value* Value::find(std::string_view key) const {
    if (!is_object()) return nullptr;
    const auto& o = as_object();
    const auto it = o.find(key);
    return it == o.end() ? nullptr : &it->second;
}
const std::string* Value::string_at(std::string_view key) const {
    const Value* v = find(key);
    return v && v->is_string() ? &v->as_string() : nullptr;
}
const std::int64_t* Value::int_at(std::string_view key) const {
    const Value* v = find(key);
    return v && v->is_int() ? &std::get<std::int64_t>(v->v_) : nullptr;
}
const bool* Value::bool_at(std::string_view key) const {
    const Value* v = find(key);
    return v && v->is_bool() ? &std::get<bool>(v->v_) : nullptr;
}
const Array* Value::array_at(std::string_view key) const {
    const Value* v = find(key);
    return v && v->is_array() ? &v->as_array() : nullptr;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto c = std::uint8_t(s[i]);
    if (c < 0x80) return 1;
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto d = std::uint8_t(s[i + k]);
        if ((d & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

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

class Parser {
public:
    Parser(std::string_view s, ParseLimits l, LineMap* lines = nullptr) : s_(s), limits_(l), lines_(lines) {}

    Result<Value> document() {
        if (s_.size() > limits_.max_bytes)
            return fail("JSON document of " + std::to_string(s_.size()) + " bytes is larger than the limit of " +
                        std::to_string(limits_.max_bytes));
        Value v;
        if (!value(v, 0)) return fail(error_);
        ws();
        if (i_ != s_.size()) return fail(at("unexpected data after the end of the document"));
        return v;
    }

private:
    std::string at(const std::string& what) {
        return "invalid JSON at line " + std::to_string(line_at(i_)) + " (byte " + std::to_string(i_) + "): " + what;
    }
    // 1-based line of byte offset pos; positions only move forward while
    // parsing, so lines are counted incrementally.
    int line_at(std::size_t pos) {
        if (pos < counted_to_) {
            counted_to_ = 0;
            line_ = 1;
        }
        for (; counted_to_ < pos && counted_to_ < s_.size(); ++counted_to_)
            if (s_[counted_to_] == '\n') ++line_;
        return line_;
    }
    bool error(const std::string& what) {
        if (error_.empty()) error_ = at(what);
        return false;
    }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return error("expected a value");
        i_ += word.size();
        return true;
    }

    bool value(Value& out, int depth) {
        if (depth > limits_.max_depth) return error("nested deeper than " + std::to_string(limits_.max_depth));
        ws();
        if (i_ >= s_.size()) return error("unexpected end of input, expected a value");
        if (lines_) (*lines_)[path_] = line_at(i_);
        switch (s_[i_]) {
            case '{': return object(out, depth);
            case '[': return array(out, depth);
            case '"': {
                std::string str;
                if (!string(str)) return false;
                out = Value(std::move(str));
                return true;
            }
            case 't': out = Value(true); return literal("true");
            case 'f': out = Value(false); return literal("false");
            case 'n': out = Value(); return literal("null");
            default: return number(out);
        }
    }

    bool object(Value& out, int depth) {
        ++i_;
        Object o;
        ws();
        if (i_ < s_.size() && s_[i_] == '}') {
            ++i_;
            out = Value(std::move(o));
            return true;
        }
        for (;;) {
            ws();
            if (i_ >= s_.size() || s_[i_] != '"') return error("expected a string as object key");
            std::string key;
            if (!string(key)) return false;
            ws();
            if (i_ >= s_.size() || s_[i_] != ':') return error("expected ':' after object key");
            ++i_;
            Value v;
            const std::size_t path_len = path_.size();
            if (lines_) path_ += "/" + key;
            if (!value(v, depth + 1)) return false;
            path_.resize(path_len);
            if (!o.emplace(key, std::move(v)).second) return error("duplicate object key \"" + key + "\"");
            ws();
            if (i_ < s_.size() && s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (i_ < s_.size() && s_[i_] == '}') {
                ++i_;
                out = Value(std::move(o));
                return true;
            }
            return error("expected ',' or '}' in object");
        }
    }

    bool array(Value& out, int depth) {
        ++i_;
        Array a;
        ws();
        if (i_ < s_.size() && s_[i_] == ']') {
            ++i_;
            out = Value(std::move(a));
            return true;
        }
        for (;;) {
            Value v;
            const std::size_t path_len = path_.size();
            if (lines_) path_ += "/" + std::to_string(a.size());
            if (!value(v, depth + 1)) return false;
            path_.resize(path_len);
            a.push_back(std::move(v));
            ws();
            if (i_ < s_.size() && s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (i_ < s_.size() && s_[i_] == ']') {
                ++i_;
                out = Value(std::move(a));
                return true;
            }
            return error("expected ',' or ']' in array");
        }
    }

    bool hex4(std::uint32_t& cp) {
        if (i_ + 4 > s_.size()) return error("truncated \\u escape");
        cp = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            cp <<= 4;
            if (c >= '0' && c <= '9') cp |= std::uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') cp |= std::uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') cp |= std::uint32_t(c - 'A' + 10);
            else return error("bad hex digit in \\u escape");
        }
        return true;
    }

    bool string(std::string& out) {
        ++i_;  // opening quote
        for (;;) {
            if (i_ >= s_.size()) return error("unterminated string");
            const char c = s_[i_];
            if (c == '"') {
                ++i_;
                return true;
            }
            if (std::uint8_t(c) < 0x20) return error("control character inside a string");
            if (c != '\\') {
                const std::size_t n = utf8_length(s_, i_);
                if (n == 0) return error("invalid UTF-8 inside a string");
                out.append(s_.substr(i_, n));
                i_ += n;
                continue;
            }
            ++i_;
            if (i_ >= s_.size()) return error("unterminated escape");
            const char e = s_[i_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    std::uint32_t cp;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        std::uint32_t lo;
                        if (s_.substr(i_, 2) != "\\u") return error("lone high surrogate");
                        i_ += 2;
                        if (!hex4(lo)) return false;
                        if (lo < 0xDC00 || lo > 0xDFFF) return error("bad low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return error("lone low surrogate");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: return error("unknown escape");
            }
        }
    }

    bool number(Value& out) {
        const std::size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) return error("expected a value");
        if (s_[i_] == '0') ++i_;
        else while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        bool integral = true;
        if (i_ < s_.size() && s_[i_] == '.') {
            integral = false;
            ++i_;
            if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) return error("expected digits after '.'");
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            integral = false;
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) return error("expected digits in exponent");
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        const char* b = s_.data() + start;
        const char* e = s_.data() + i_;
        if (integral) {
            std::int64_t v;
            const auto r = std::from_chars(b, e, v);
            if (r.ec == std::errc() && r.ptr == e) {
                out = Value(v);
                return true;
            }
        }
        double d;
        const auto r = std::from_chars(b, e, d);
        if (r.ec != std::errc() || r.ptr != e || !std::isfinite(d)) return error("number out of range");
        out = Value(d);
        return true;
    }

    std::string_view s_;
    ParseLimits limits_;
    std::size_t i_ = 0;
    std::string error_;
    LineMap* lines_;
    std::string path_;  // JSON Pointer of the value being parsed, when lines_ is set
    std::size_t counted_to_ = 0;
    int line_ = 1;
};

void write_string(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = std::uint8_t(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_length(s, i);
            if (n == 0) {
                out += "\xEF\xBF\xBD";
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
        ++i;
    }
    out += '"';
}

void write(std::string& out, const Value& v, int indent, int level) {
    const auto newline = [&](int lvl) {
        if (indent < 0) return;
        out += '\n';
        out.append(std::size_t(indent * lvl), ' ');
    };
    switch (v.type()) {
        case Value::Type::Null: out += "null"; break;
        case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; break;
        case Value::Type::Int: out += std::to_string(v.as_int()); break;
        case Value::Type::Double: {
            char buf[32];
            const auto r = std::to_chars(buf, buf + sizeof buf, v.as_double());
            const std::string_view text(buf, std::size_t(r.ptr - buf));
            out += text;
            // 211220.0 prints as "211220", which would parse back as an integer:
            // keep it a double.
            if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
            break;
        }
        case Value::Type::String: write_string(out, v.as_string()); break;
        case Value::Type::Array: {
            const auto& a = v.as_array();
            out += '[';
            for (std::size_t k = 0; k < a.size(); ++k) {
                if (k) out += ',';
                newline(level + 1);
                write(out, a[k], indent, level + 1);
            }
            if (!a.empty()) newline(level);
            out += ']';
            break;
        }
        case Value::Type::Object: {
            const auto& o = v.as_object();
            out += '{';
            bool first = true;
            for (const auto& [key, member] : o) {
                if (!first) out += ',';
                first = false;
                newline(level + 1);
                write_string(out, key);
                out += indent < 0 ? ":" : ": ";
                write(out, member, indent, level + 1);
            }
            if (!o.empty()) newline(level);
            out += '}';
            break;
        }
    }
}

}  // namespace

Result<Value> parse(std::string_view text, ParseLimits limits) { return Parser(text, limits).document(); }

Result<Value> parse(std::string_view text, ParseLimits limits, LineMap& lines) {
    lines.clear();
    return Parser(text, limits, &lines).document();
}

std::string dump(const Value& v) {
    std::string out;
    write(out, v, -1, 0);
    return out;
}

std::string dump_pretty(const Value& v) {
    std::string out;
    write(out, v, 2, 0);
    return out;
}

std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_length(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

}  // namespace ztna::json
