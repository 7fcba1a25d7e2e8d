// The access policy: a declarative JSON file of gateways, apps and rules,
// validated on load with errors that name the file, the line and the field
// (docs/control-plane.md, "Policy file").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ztna/result.h"

namespace ztna::controller {

struct PortRange {
    std::string protocol;  // tcp, udp, icmp
    int first = 0, last = 0;  // 0, 0 for icmp
};

struct IpPrefix {
    std::string text;  // as written, normalized ("10.20.0.10/32")
    bool v6 = false;
    unsigned char addr[16] = {};
    int length = 0;
};

struct Gateway {
    std::string id;
    std::string endpoint;     // host:port the agents send WireGuard to
    std::string public_key;   // base64 WireGuard key
    IpPrefix tunnel_network;  // grant tunnel addresses come from here
};

struct App {
    std::string name;
    std::string description;
    std::vector<std::string> dns_names;
    std::vector<IpPrefix> addresses;
    std::vector<PortRange> ports;
    std::string gateway;
};

struct Schedule {
    std::vector<int> days;  // 0 = Sunday ... 6 = Saturday
    int from_minute = 0, to_minute = 24 * 60;  // [from, to) in UTC
};

struct Rule {
    std::string name;
    std::vector<std::string> groups;
    std::vector<std::string> apps;
    std::vector<std::string> posture;  // check ids that must pass
    bool require_mfa = false;
    std::optional<Schedule> schedule;
};

struct PolicySettings {
    std::int64_t grant_ttl_s = 300;
    std::int64_t session_lifetime_s = 8 * 3600;
    std::int64_t posture_max_age_s = 120;
};

struct Policy {
    PolicySettings settings;
    std::vector<Gateway> gateways;
    std::vector<App> apps;
    std::vector<Rule> rules;

    const App* app(const std::string& name) const;
    const Gateway* gateway(const std::string& id) const;
};

// Parses and validates policy text; errors read "FILE:LINE: FIELD: what is
// wrong" (FIELD like apps[2].ports[0]), the first error found.
Result<Policy> parse_policy(std::string_view text, const std::string& file_name);
Result<Policy> load_policy_file(const std::string& path);

Result<IpPrefix> parse_prefix(std::string_view text);
bool prefix_contains(const IpPrefix& p, const unsigned char* addr, bool v6);

extern const char* const kPostureCheckIds[6];

}  // namespace ztna::controller
