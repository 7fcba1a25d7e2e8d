#include "uapi_codec.h"

#include <charconv>

#include "keys.h"

namespace ztna::tunnel::io {

namespace {

template <typename T>
bool parse_uint(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::optional<UapiRequest> error_out(UapiError& e, int code, std::string msg) {
    e = {code, std::move(msg)};
    return std::nullopt;
}

// Error messages name the key and line, never the value (it may be a key).
std::string where(std::size_t line, std::string_view key) {
    return "line " + std::to_string(line) + " (" + std::string(key) + ")";
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        const auto zone = host.find('%');  // link-local zone: the address itself is enough here
        if (zone != std::string_view::npos) host = host.substr(0, zone);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
    }
    auto addr = parse_ip(host);
    std::uint16_t p = 0;
    if (!addr || !parse_uint(port, p)) return std::nullopt;
    if (host.find(':') != std::string_view::npos && !addr->v6) return std::nullopt;
    return Endpoint{*addr, p};
}

std::string to_string(const Endpoint& e) {
    return e.addr.v6 ? "[" + to_string(e.addr) + "]:" + std::to_string(e.port)
                     : to_string(e.addr) + ":" + std::to_string(e.port);
}

std::optional<UapiRequest> parse_request(std::string_view text, UapiError& err) {
    const auto first_end = text.find('\n');
    const std::string_view first = text.substr(0, first_end);
    UapiRequest req{};
    if (first == "get=1") {
        req.op = UapiOp::Get;
        if (first_end != std::string_view::npos && first_end + 1 < text.size())
            return error_out(err, uapi_errno::kProtocol, "get=1 takes no further lines");
        return req;
    }
    if (first != "set=1") return error_out(err, uapi_errno::kProtocol, "request must start with get=1 or set=1");
    req.op = UapiOp::Set;
    UapiSet& set = req.set;
    UapiPeerSet* peer = nullptr;
    std::size_t line_no = 1;
    std::string_view rest = first_end == std::string_view::npos ? std::string_view{} : text.substr(first_end + 1);
    while (!rest.empty()) {
        ++line_no;
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.empty()) return error_out(err, uapi_errno::kProtocol, "empty line " + std::to_string(line_no) + " inside a request");
        const auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return error_out(err, uapi_errno::kProtocol, "line " + std::to_string(line_no) + " is not key=value");
        const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);

        if (key == "public_key") {
            PublicKey pk{};
            if (!from_hex(pk, value)) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not 64 hex digits");
            set.peers.push_back({});
            peer = &set.peers.back();
            peer->public_key = pk;
            continue;
        }
        if (!peer) {
            if (key == "private_key") {
                Key k;
                if (!from_hex(k.span(), value)) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not 64 hex digits");
                set.private_key = k;
            } else if (key == "listen_port") {
                std::uint16_t p = 0;
                if (!parse_uint(value, p)) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not a port number");
                set.listen_port = p;
            } else if (key == "fwmark") {
                std::uint32_t m = 0;
                if (!parse_uint(value, m)) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not a 32-bit number");
                set.fwmark = m;
            } else if (key == "replace_peers") {
                if (value != "true") return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": only 'true' is allowed");
                set.replace_peers = true;
            } else {
                return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": unknown device key");
            }
            continue;
        }
        if (key == "remove") {
            if (value != "true") return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": only 'true' is allowed");
            peer->remove = true;
        } else if (key == "update_only") {
            if (value != "true") return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": only 'true' is allowed");
            peer->update_only = true;
        } else if (key == "preshared_key") {
            Key k;
            if (!from_hex(k.span(), value)) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not 64 hex digits");
            peer->preshared_key = k;
        } else if (key == "endpoint") {
            auto e = parse_endpoint(value);
            if (!e) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not IP:port or [IPv6]:port");
            peer->endpoint = *e;
        } else if (key == "persistent_keepalive_interval") {
            std::uint16_t s = 0;
            if (!parse_uint(value, s)) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not 0-65535 seconds");
            peer->persistent_keepalive = s;
        } else if (key == "replace_allowed_ips") {
            if (value != "true") return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": only 'true' is allowed");
            peer->replace_allowed_ips = true;
        } else if (key == "allowed_ip") {
            auto p = parse_prefix(value);
            if (!p) return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": not an IP prefix");
            peer->allowed_ips.push_back(*p);
        } else if (key == "protocol_version") {
            if (value != "1") return error_out(err, uapi_errno::kProtocol, where(line_no, key) + ": only version 1 exists");
        } else {
            return error_out(err, uapi_errno::kInvalid, where(line_no, key) + ": unknown peer key");
        }
    }
    return req;
}

std::string format_get(const UapiDeviceGet& d) {
    std::string out;
    out.reserve(256 + d.peers.size() * 256);
    auto line = [&](std::string_view k, const std::string& v) {
        out.append(k).append("=").append(v).append("\n");
    };
    if (d.private_key && !d.private_key->is_zero()) line("private_key", to_hex(d.private_key->span()));
    if (d.listen_port) line("listen_port", std::to_string(d.listen_port));
    if (d.fwmark) line("fwmark", std::to_string(d.fwmark));
    for (const auto& p : d.peers) {
        line("public_key", to_hex(p.public_key));
        line("preshared_key", to_hex(p.preshared_key.span()));
        line("protocol_version", "1");
        if (p.endpoint) line("endpoint", to_string(*p.endpoint));
        line("last_handshake_time_sec", std::to_string(p.last_handshake_sec));
        line("last_handshake_time_nsec", std::to_string(p.last_handshake_nsec));
        line("tx_bytes", std::to_string(p.tx_bytes));
        line("rx_bytes", std::to_string(p.rx_bytes));
        line("persistent_keepalive_interval", std::to_string(p.persistent_keepalive));
        for (const auto& a : p.allowed_ips) line("allowed_ip", to_string(a));
    }
    out.append("errno=0\n\n");
    return out;
}

std::string format_errno(int e) { return "errno=" + std::to_string(-e) + "\n\n"; }

}  // namespace ztna::tunnel::io
