// Text helpers for parsing what OS tools print: encodings, lines, key/value
// pairs, versions. Pure functions; nothing here reads the system.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ztna::posture::text {

// Raw tool output to UTF-8 with '\n' line ends: strips a UTF-8 BOM, decodes
// UTF-16 (LE or BE, with a BOM, or LE without one, as Windows tools write when
// redirected), drops '\r' before '\n', and replaces invalid UTF-8 with U+FFFD.
std::string decode(std::string_view raw);

std::string_view trim(std::string_view s);
std::string lower(std::string_view s);
bool starts_with_icase(std::string_view s, std::string_view prefix);
bool contains_icase(std::string_view s, std::string_view needle);

// The lines of s, without their '\n'.
std::vector<std::string_view> lines(std::string_view s);

// "Key  : value" lines (dsregcmd, manage-bde, mdatp, sw_vers): the key and the
// value trimmed, split at the first sep. Lines without sep are skipped.
std::vector<std::pair<std::string, std::string>> key_values(std::string_view s, char sep);
// The same, into a map with lower-cased keys (the first occurrence wins).
std::map<std::string, std::string> key_value_map(std::string_view s, char sep);

// Compares dotted versions numerically ("10.0.19045" < "10.0.22631",
// "22.04" < "24.04", "14.4.1" > "14.4"; missing parts count as 0). Nothing
// when either is not a version (no leading digit, or a part too long).
std::optional<int> compare_versions(std::string_view a, std::string_view b);

// A short, printable, single-line excerpt of input for evidence: at most max
// bytes, control characters replaced, valid UTF-8.
std::string excerpt(std::string_view s, std::size_t max = 80);

// True when s holds a NUL byte or is mostly not printable: output that no
// parser here should try to read.
bool looks_binary(std::string_view s);

// An integer (optionally signed); nothing on anything else or overflow.
std::optional<long long> to_int(std::string_view s);

}  // namespace ztna::posture::text
