#include "windows_parsers.h"

#include <cmath>

#include "text.h"

namespace ztna::posture::windows {

namespace {

// UTF-16 text that went through a second encoding: every other byte is NUL
// and there are never two NULs in a row (ASCII text only).
bool nul_interleaved(std::string_view s) {
    std::size_t nuls = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\0') continue;
        ++nuls;
        if (i + 1 < s.size() && s[i + 1] == '\0') return false;
    }
    return nuls > 0 && nuls * 10 >= s.size() * 4;
}

bool starts(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

std::string decode_output(std::string_view raw) {
    std::string s = text::decode(raw);
    if (nul_interleaved(s)) {
        std::string stripped;
        stripped.reserve(s.size() / 2 + 1);
        for (char c : s)
            if (c != '\0') stripped += c;
        s = text::decode(stripped);
    }
    return s;
}

Output read_command(const SystemView& view, std::string_view name) {
    auto r = view.command(name);
    if (!r) return {std::nullopt, r.error().message};
    std::string s = decode_output(*r);
    if (text::trim(s).empty()) return {std::nullopt, std::string(name) + " printed nothing"};
    if (text::looks_binary(s)) return {std::nullopt, std::string(name) + " printed binary data, not text: \"" + text::excerpt(s, 40) + "\""};
    return {std::move(s), {}};
}

QueryResult read_query(const SystemView& view, std::string_view name) {
    auto r = view.query(name);
    if (!r) return {std::nullopt, r.error().message};
    if (r->is_null()) return {std::nullopt, std::string(name) + " returned null"};
    return {std::move(*r), {}};
}

std::vector<const json::Value*> instances(const json::Value& v) {
    std::vector<const json::Value*> out;
    const json::Array* arr = nullptr;
    if (v.is_array()) {
        arr = &v.as_array();
    } else if (v.is_object()) {
        const json::Value* inner = v.find("value");
        if (inner && inner->is_array() && v.as_object().size() <= 2 &&
            (v.as_object().size() == 1 || v.find("Count")))
            arr = &inner->as_array();
        else
            out.push_back(&v);
    }
    if (arr)
        for (const auto& e : *arr)
            if (e.is_object()) out.push_back(&e);
    return out;
}

const json::Value* member(const json::Value& obj, std::string_view key) {
    if (!obj.is_object()) return nullptr;
    if (const json::Value* exact = obj.find(key)) return exact;
    const std::string want = text::lower(key);
    for (const auto& [k, v] : obj.as_object())
        if (text::lower(k) == want) return &v;
    return nullptr;
}

std::optional<std::int64_t> int_member(const json::Value& obj, std::string_view key) {
    const json::Value* v = member(obj, key);
    if (!v) return std::nullopt;
    if (v->is_int()) return v->as_int();
    if (v->is_number()) {
        const double d = v->as_double();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return std::int64_t(d);
        return std::nullopt;
    }
    if (v->is_string()) {
        if (auto n = text::to_int(v->as_string())) return *n;
    }
    return std::nullopt;
}

std::optional<bool> bool_member(const json::Value& obj, std::string_view key) {
    const json::Value* v = member(obj, key);
    if (!v) return std::nullopt;
    if (v->is_bool()) return v->as_bool();
    if (v->is_int()) {
        if (v->as_int() == 1) return true;
        if (v->as_int() == 0) return false;
        return std::nullopt;
    }
    if (v->is_string()) {
        const std::string s = text::lower(text::trim(v->as_string()));
        if (s == "true" || s == "1" || s == "yes") return true;
        if (s == "false" || s == "0" || s == "no") return false;
    }
    return std::nullopt;
}

std::optional<std::string> string_member(const json::Value& obj, std::string_view key) {
    const json::Value* v = member(obj, key);
    if (!v || !v->is_string()) return std::nullopt;
    return v->as_string();
}

std::string duration_phrase(std::int64_t s) {
    const auto unit = [](std::int64_t n, const char* one) {
        return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
    };
    if (s > 0 && s % 3600 == 0) return unit(s / 3600, "hour");
    if (s > 0 && s % 60 == 0) return unit(s / 60, "minute");
    return unit(s, "second");
}

// ---- BitLocker ------------------------------------------------------------------

std::string_view conversion_name(Conversion c) {
    switch (c) {
        case Conversion::FullyDecrypted: return "fully_decrypted";
        case Conversion::FullyEncrypted: return "fully_encrypted";
        case Conversion::EncryptionInProgress: return "encryption_in_progress";
        case Conversion::DecryptionInProgress: return "decryption_in_progress";
        case Conversion::EncryptionPaused: return "encryption_paused";
        case Conversion::DecryptionPaused: return "decryption_paused";
        case Conversion::UsedSpaceOnlyEncrypted: return "used_space_only_encrypted";
    }
    return "unknown";
}

std::string_view protection_name(Protection p) {
    switch (p) {
        case Protection::Off: return "off";
        case Protection::On: return "on";
        case Protection::Unknown: return "unknown";
    }
    return "unknown";
}

namespace {

enum class BdeKey { None, Conversion, Percent, Protection, Method };

// manage-bde's property names, English and German.
BdeKey bde_key(std::string_view key, bool& known_language) {
    const std::string k = text::lower(text::trim(key));
    BdeKey r = BdeKey::None;
    if (k == "conversion status" || k == "konvertierungsstatus") r = BdeKey::Conversion;
    else if (k == "percentage encrypted" || k == "verschl\xC3\xBCsselt (prozent)") r = BdeKey::Percent;
    else if (k == "protection status" || k == "schutzstatus") r = BdeKey::Protection;
    else if (k == "encryption method" || k == "verschl\xC3\xBCsselungsmethode") r = BdeKey::Method;
    else if (k == "size" || k == "gr\xC3\xB6\xC3\x9F" "e" || k == "bitlocker version" || k == "bitlocker-version" ||
             k == "lock status" || k == "sperrungsstatus")
        known_language = true;
    if (r != BdeKey::None) known_language = true;
    return r;
}

std::optional<Conversion> bde_conversion(std::string_view value) {
    const std::string v = text::lower(text::trim(value));
    struct M {
        std::string_view prefix;
        Conversion c;
    };
    static constexpr M kMap[] = {
        {"fully decrypted", Conversion::FullyDecrypted},
        {"fully encrypted", Conversion::FullyEncrypted},
        {"used space only encrypted", Conversion::UsedSpaceOnlyEncrypted},
        {"encryption in progress", Conversion::EncryptionInProgress},
        {"decryption in progress", Conversion::DecryptionInProgress},
        {"encryption paused", Conversion::EncryptionPaused},
        {"decryption paused", Conversion::DecryptionPaused},
        {"vollst\xC3\xA4ndig entschl\xC3\xBCsselt", Conversion::FullyDecrypted},
        {"vollst\xC3\xA4ndig verschl\xC3\xBCsselt", Conversion::FullyEncrypted},
        {"nur verwendeter speicherplatz", Conversion::UsedSpaceOnlyEncrypted},
        {"verschl\xC3\xBCsselung wird durchgef\xC3\xBChrt", Conversion::EncryptionInProgress},
        {"entschl\xC3\xBCsselung wird durchgef\xC3\xBChrt", Conversion::DecryptionInProgress},
        {"verschl\xC3\xBCsselung angehalten", Conversion::EncryptionPaused},
        {"entschl\xC3\xBCsselung angehalten", Conversion::DecryptionPaused},
    };
    for (const auto& m : kMap)
        if (starts(v, m.prefix)) return m.c;
    return std::nullopt;
}

std::optional<Protection> bde_protection(std::string_view value) {
    const std::string v = text::lower(text::trim(value));
    if (starts(v, "protection on") || starts(v, "der schutz ist aktiviert")) return Protection::On;
    if (starts(v, "protection off") || starts(v, "der schutz ist deaktiviert")) return Protection::Off;
    if (starts(v, "unknown") || starts(v, "unbekannt")) return Protection::Unknown;
    return std::nullopt;
}

// "100.0%", "100,0 %", "3,5 %" -> "100.0", "3.5".
std::optional<std::string> bde_percent(std::string_view value) {
    value = text::trim(value);
    std::string out;
    std::size_t i = 0;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9' && out.size() < 3) out += value[i++];
    if (out.empty()) return std::nullopt;
    if (i < value.size() && (value[i] == '.' || value[i] == ',')) {
        ++i;
        std::string frac;
        while (i < value.size() && value[i] >= '0' && value[i] <= '9' && frac.size() < 3) frac += value[i++];
        if (frac.empty()) return std::nullopt;
        out += "." + frac;
    }
    const std::string_view rest = text::trim(value.substr(i));
    if (rest != "%") return std::nullopt;
    if (auto whole = text::to_int(out.substr(0, out.find('.'))); !whole || *whole > 100) return std::nullopt;
    return out;
}

// "Volume C: [Windows]", "Volume \"C:\" []", "Volume \\?\Volume{...}".
std::optional<std::string> volume_header(std::string_view line) {
    line = text::trim(line);
    if (!starts(line, "Volume ")) return std::nullopt;
    std::string_view rest = line.substr(7);
    if (!rest.empty() && rest[0] == '"') rest.remove_prefix(1);
    if (rest.size() >= 2 && ((rest[0] >= 'A' && rest[0] <= 'Z') || (rest[0] >= 'a' && rest[0] <= 'z')) && rest[1] == ':') {
        std::string letter(1, char(rest[0] >= 'a' ? rest[0] - 'a' + 'A' : rest[0]));
        return letter + ":";
    }
    return std::string();
}

}  // namespace

BdeStatus parse_manage_bde_status(std::string_view t) {
    BdeStatus out;
    BdeVolume* cur = nullptr;
    for (const auto raw : text::lines(t)) {
        const std::string_view line = text::trim(raw);
        if (line.empty()) continue;
        if (out.error.empty() && (text::starts_with_icase(line, "ERROR:") || text::starts_with_icase(line, "FEHLER:"))) {
            out.error = text::excerpt(line, 200);
            continue;
        }
        if (auto letter = volume_header(line)) {
            if (out.volumes.size() >= 64) break;
            out.volumes.emplace_back();
            cur = &out.volumes.back();
            cur->letter = *letter;
            continue;
        }
        if (!cur) continue;
        if (line.front() == '[') {
            if (text::contains_icase(line, "OS Volume") || text::contains_icase(line, "Betriebssystemvolume")) cur->os_volume = true;
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view value = text::trim(line.substr(colon + 1));
        switch (bde_key(line.substr(0, colon), cur->known_language)) {
            case BdeKey::Conversion:
                if (!cur->conversion && cur->conversion_text.empty()) {
                    cur->conversion = bde_conversion(value);
                    cur->conversion_text = text::excerpt(value, 60);
                }
                break;
            case BdeKey::Percent:
                if (!cur->percent) cur->percent = bde_percent(value);
                break;
            case BdeKey::Protection:
                if (!cur->protection && cur->protection_text.empty()) {
                    cur->protection = bde_protection(value);
                    cur->protection_text = text::excerpt(value, 60);
                }
                break;
            case BdeKey::Method:
                if (cur->method.empty()) cur->method = text::excerpt(value, 40);
                break;
            case BdeKey::None: break;
        }
    }
    return out;
}

// ---- Security Center productState ----------------------------------------------

ProductState decode_product_state(std::int64_t state) {
    ProductState p;
    if (state < 0 || state > 0xFFFFFF) return p;
    const auto scanner = (state >> 8) & 0xFF, sig = state & 0xFF;
    if (scanner == 0x10 || scanner == 0x11) p.scanner = Scanner::Enabled;
    else if (scanner == 0x00 || scanner == 0x01) p.scanner = Scanner::Disabled;
    if (sig == 0x00) p.signatures = Signatures::UpToDate;
    else if (sig == 0x10) p.signatures = Signatures::OutOfDate;
    return p;
}

std::string_view scanner_name(Scanner s) {
    switch (s) {
        case Scanner::Enabled: return "enabled";
        case Scanner::Disabled: return "disabled";
        case Scanner::Unknown: return "unknown";
    }
    return "unknown";
}

std::string_view signatures_name(Signatures s) {
    switch (s) {
        case Signatures::UpToDate: return "up_to_date";
        case Signatures::OutOfDate: return "out_of_date";
        case Signatures::Unknown: return "unknown";
    }
    return "unknown";
}

// ---- dsregcmd /status ----------------------------------------------------------

std::optional<DsregStatus> parse_dsregcmd_status(std::string_view t) {
    const auto kv = text::key_value_map(t, ':');
    const auto yes_no = [&](const char* key) -> std::optional<bool> {
        const auto it = kv.find(key);
        if (it == kv.end()) return std::nullopt;
        const std::string v = text::lower(it->second);
        if (v == "yes") return true;
        if (v == "no") return false;
        return std::nullopt;
    };
    const auto aad = yes_no("azureadjoined"), domain = yes_no("domainjoined");
    if (!aad || !domain) return std::nullopt;
    DsregStatus s;
    s.azure_ad_joined = *aad;
    s.domain_joined = *domain;
    s.workplace_joined = yes_no("workplacejoined").value_or(false);
    s.enterprise_joined = yes_no("enterprisejoined").value_or(false);
    const auto str = [&](const char* key) {
        const auto it = kv.find(key);
        return it == kv.end() ? std::string() : text::excerpt(it->second, 200);
    };
    s.domain_name = str("domainname");
    s.tenant_name = str("tenantname");
    s.mdm_url = str("mdmurl");
    return s;
}

// ---- netsh advfirewall show allprofiles state ----------------------------------

std::optional<NetshProfiles> parse_netsh_allprofiles_state(std::string_view t) {
    NetshProfiles p;
    std::optional<bool>* cur = nullptr;
    for (const auto raw : text::lines(t)) {
        const std::string_view line = text::trim(raw);
        if (line == "Domain Profile Settings:") cur = &p.domain;
        else if (line == "Private Profile Settings:") cur = &p.private_;
        else if (line == "Public Profile Settings:") cur = &p.public_;
        else if (cur && starts(line, "State") && line.size() > 5 && (line[5] == ' ' || line[5] == '\t')) {
            const std::string_view v = text::trim(line.substr(5));
            if (!cur->has_value()) {
                if (v == "ON") *cur = true;
                else if (v == "OFF") *cur = false;
            }
        }
    }
    if (!p.domain || !p.private_ || !p.public_) return std::nullopt;
    return p;
}

}  // namespace ztna::posture::windows
