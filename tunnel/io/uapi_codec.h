// The WireGuard cross-platform UAPI (https://www.wireguard.com/xplatform/)
// as a codec over text, with no socket in sight so it can be fuzzed alone:
// parse a request ("get=1" or "set=1" + key=value lines), format answers.
// Errors are the errno values wireguard-go answers with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ip_prefix.h"
#include "secret.h"

namespace ztna::tunnel::io {

namespace uapi_errno {
inline constexpr int kIo = 5;           // EIO
inline constexpr int kInvalid = 22;     // EINVAL: bad key or value
inline constexpr int kNoAno = 55;       // ENOANO: unknown failure (wireguard-go's ipcErrorUnknown)
inline constexpr int kProtocol = 71;    // EPROTO: malformed request or unsupported protocol_version
inline constexpr int kAddrInUse = 98;   // EADDRINUSE: listen_port taken
}  // namespace uapi_errno

struct Endpoint {
    IpAddr addr;
    std::uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
};
std::optional<Endpoint> parse_endpoint(std::string_view text);  // "1.2.3.4:5", "[fd00::1]:5"
std::string to_string(const Endpoint& e);

struct UapiPeerSet {
    PublicKey public_key{};
    bool remove = false;
    bool update_only = false;
    std::optional<Key> preshared_key;
    std::optional<Endpoint> endpoint;
    std::optional<std::uint16_t> persistent_keepalive;
    bool replace_allowed_ips = false;
    std::vector<IpPrefix> allowed_ips;
};

struct UapiSet {
    std::optional<Key> private_key;  // all zeros: remove the key
    std::optional<std::uint16_t> listen_port;
    std::optional<std::uint32_t> fwmark;
    bool replace_peers = false;
    std::vector<UapiPeerSet> peers;
};

struct UapiError {
    int errno_value;
    std::string message;  // what was wrong, on which line
};

enum class UapiOp { Get, Set };

struct UapiRequest {
    UapiOp op;
    UapiSet set;  // for Set
};

// text: one whole request up to (not including) its terminating blank line.
// Returns the request or the error to answer with.
std::optional<UapiRequest> parse_request(std::string_view text, UapiError& error);

struct UapiPeerGet {
    PublicKey public_key{};
    Key preshared_key;
    std::optional<Endpoint> endpoint;
    std::int64_t last_handshake_sec = 0;
    std::int64_t last_handshake_nsec = 0;
    std::uint64_t tx_bytes = 0;
    std::uint64_t rx_bytes = 0;
    std::uint16_t persistent_keepalive = 0;
    std::vector<IpPrefix> allowed_ips;
};

struct UapiDeviceGet {
    std::optional<Key> private_key;
    std::uint16_t listen_port = 0;
    std::uint32_t fwmark = 0;
    std::vector<UapiPeerGet> peers;
};

// The answer to get=1, ending with "errno=0\n\n".
std::string format_get(const UapiDeviceGet& device);
// "errno=-N": negated on the wire, as wireguard-go does; wg(8) prints strerror(N).
std::string format_errno(int errno_value);

}  // namespace ztna::tunnel::io
