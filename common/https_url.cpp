#include "ztna/https_url.h"

#include <charconv>

namespace ztna {

Result<HttpsUrl> parse_https_url(std::string_view url) {
    const auto bad = [&](const std::string& why) {
        return fail("the URL \"" + std::string(url.substr(0, 200)) + "\" " + why + "; expected https://HOST[:PORT]");
    };
    if (url.substr(0, 8) != "https://") return bad("does not start with https://");
    std::string_view rest = url.substr(8);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty() || rest.find('/') != std::string_view::npos) return bad("has no host or has a path");
    HttpsUrl u;
    std::string_view host = rest, port;
    if (rest[0] == '[') {  // [IPv6]:port
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return bad("has an unclosed [");
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') return bad("has text after ]");
            port = rest.substr(close + 2);
        }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty()) return bad("has no host");
    if (!port.empty()) {
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), u.port);
        if (ec != std::errc() || end != port.data() + port.size() || u.port < 1 || u.port > 65535) return bad("has a bad port");
    }
    u.host = std::string(host);
    return u;
}

}  // namespace ztna
