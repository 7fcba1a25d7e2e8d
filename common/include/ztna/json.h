// A small JSON value, parser and writer, shared by posture reports, the IPC
// protocol and the control-plane protocol.
//
// Objects keep their keys sorted (std::map), so the compact form written by
// dump() is canonical: no whitespace, keys in byte order, integers in decimal,
// strings with the shortest escapes. Signed documents are signed over that form
// (see docs/posture.md, "Signed posture report").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ztna/result.h"

namespace ztna::json {

class Value;
using Array = std::vector<Value>;
using Object = std::map<std::string, Value, std::less<>>;

class Value {
public:
    enum class Type { Null, Bool, Int, Double, String, Array, Object };

    Value() = default;
    Value(std::nullptr_t) {}
    Value(bool b) : v_(b) {}
    Value(int i) : v_(std::int64_t(i)) {}
    Value(std::int64_t i) : v_(i) {}
    Value(double d) : v_(d) {}
    Value(const char* s) : v_(std::string(s)) {}
    Value(std::string s) : v_(std::move(s)) {}
    Value(std::string_view s) : v_(std::string(s)) {}
    Value(Array a) : v_(std::move(a)) {}
    Value(Object o) : v_(std::move(o)) {}

    Type type() const { return Type(v_.index()); }
    bool is_null() const { return type() == Type::Null; }
    bool is_bool() const { return type() == Type::Bool; }
    bool is_int() const { return type() == Type::Int; }
    bool is_number() const { return type() == Type::Int || type() == Type::Double; }
    bool is_string() const { return type() == Type::String; }
    bool is_array() const { return type() == Type::Array; }
    bool is_object() const { return type() == Type::Object; }

    // Accessors that throw std::bad_variant_access on a type mismatch: for
    // values the caller has already checked (programming errors otherwise).
    bool as_bool() const { return std::get<bool>(v_); }
    std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
    double as_double() const { return is_int() ? double(as_int()) : std::get<double>(v_); }
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const Array& as_array() const { return std::get<Array>(v_); }
    Array& as_array() { return std::get<Array>(v_); }
    const Object& as_object() const { return std::get<Object>(v_); }
    Object& as_object() { return std::get<Object>(v_); }

    // Lookups that never throw: nullptr when this is not an object, the key is
    // missing, or the member has another type.
    const Value* find(std::string_view key) const;
    const std::string* string_at(std::string_view key) const;
    const std::int64_t* int_at(std::string_view key) const;
    const bool* bool_at(std::string_view key) const;
    const Array* array_at(std::string_view key) const;

    bool operator==(const Value& o) const { return v_ == o.v_; }

private:
    std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> v_{nullptr};
};

struct ParseLimits {
    std::size_t max_bytes = 16u << 20;
    int max_depth = 64;
};

// Parses one JSON document (RFC 8259). Errors name the line, the byte offset
// and what was expected. Duplicate object keys are an error (they make
// signatures ambiguous). Invalid UTF-8 inside strings is an error.
Result<Value> parse(std::string_view text, ParseLimits limits = {});

// The 1-based line where each value starts, by JSON Pointer ("" for the
// document, "/apps/2/ports/0" ...; keys are not escaped), for files people
// edit and want errors located in.
using LineMap = std::map<std::string, int>;
Result<Value> parse(std::string_view text, ParseLimits limits, LineMap& lines);

// Compact and canonical (see above). Strings that are not valid UTF-8 are
// written with U+FFFD in place of each bad byte, so the output is always JSON.
std::string dump(const Value& v);
// Indented by two spaces, for people.
std::string dump_pretty(const Value& v);

// Replaces each byte that is not part of valid UTF-8 with U+FFFD.
std::string to_valid_utf8(std::string_view s);

}  // namespace ztna::json
