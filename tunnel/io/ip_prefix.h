// IP addresses and prefixes in the forms wg(8) and the UAPI use.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ztna::tunnel::io {

struct IpAddr {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
    std::size_t size() const { return v6 ? 16 : 4; }
    bool operator==(const IpAddr&) const = default;
};

struct IpPrefix {
    IpAddr addr;
    std::uint8_t len = 0;
    bool operator==(const IpPrefix&) const = default;
};

std::optional<IpAddr> parse_ip(std::string_view text);
// "10.0.0.0/24", "fd00::/64"; host bits are cleared, as wg(8) does.
std::optional<IpPrefix> parse_prefix(std::string_view text);
std::string to_string(const IpAddr& a);
std::string to_string(const IpPrefix& p);

// Source and destination of an IP packet (0 if it is not a whole IPv4/IPv6 header).
bool packet_source(const std::uint8_t* pkt, std::size_t n, IpAddr& out);
bool packet_destination(const std::uint8_t* pkt, std::size_t n, IpAddr& out);

}  // namespace ztna::tunnel::io
