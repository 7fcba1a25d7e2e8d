#include "ip_prefix.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ztna::tunnel::io {

std::optional<IpAddr> parse_ip(std::string_view text) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[46];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = 0;
    IpAddr a;
    if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;
    a.v6 = true;
    if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;
    return std::nullopt;
}

std::optional<IpPrefix> parse_prefix(std::string_view text) {
    const auto slash = text.find('/');
    auto addr = parse_ip(text.substr(0, slash));
    if (!addr) return std::nullopt;
    IpPrefix p{*addr, std::uint8_t(addr->v6 ? 128 : 32)};
    if (slash != std::string_view::npos) {
        const auto num = text.substr(slash + 1);
        unsigned len = 0;
        auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), len);
        if (num.empty() || ec != std::errc() || ptr != num.data() + num.size() || len > p.len) return std::nullopt;
        p.len = std::uint8_t(len);
    }
    for (std::size_t bit = p.len; bit < p.addr.size() * 8; ++bit)
        p.addr.bytes[bit / 8] &= std::uint8_t(~(0x80u >> (bit % 8)));
    return p;
}

std::string to_string(const IpAddr& a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
    return buf;
}

std::string to_string(const IpPrefix& p) { return to_string(p.addr) + "/" + std::to_string(p.len); }

namespace {
bool packet_addr(const std::uint8_t* pkt, std::size_t n, IpAddr& out, bool source) {
    if (n >= 20 && pkt[0] >> 4 == 4) {
        out.v6 = false;
        std::memcpy(out.bytes.data(), pkt + (source ? 12 : 16), 4);
        return true;
    }
    if (n >= 40 && pkt[0] >> 4 == 6) {
        out.v6 = true;
        std::memcpy(out.bytes.data(), pkt + (source ? 8 : 24), 16);
        return true;
    }
    return false;
}
}  // namespace

bool packet_source(const std::uint8_t* pkt, std::size_t n, IpAddr& out) { return packet_addr(pkt, n, out, true); }
bool packet_destination(const std::uint8_t* pkt, std::size_t n, IpAddr& out) {
    return packet_addr(pkt, n, out, false);
}

}  // namespace ztna::tunnel::io
