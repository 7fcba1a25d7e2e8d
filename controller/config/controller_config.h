// controller.json: where the controller listens, its TLS files, its database
// and the admin credential's hash. Written by `ztna-admin init`; relative paths
// are relative to the file's directory. See docs/control-plane.md.
#pragma once

#include <cstdint>
#include <string>

#include <map>
#include <vector>

#include "id_token.h"
#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::controller {

struct ControllerConfig {
    std::string dir;                 // the directory of controller.json
    std::string listen_address = "0.0.0.0";
    int listen_port = 8443;
    std::string public_url;          // https://host:port, what agents and ztna-admin use
    std::string database;            // absolute after load
    std::string tls_certificate;     // PEM chain of the controller
    std::string tls_key;             // PEM private key (0600)
    std::string ca_certificate;      // the CA agents pin
    std::string admin_token_sha256;  // hex
    std::int64_t enrollment_token_max_ttl_s = 30 * 86400;
    std::string policy;              // the policy file, reloaded when it changes
    std::vector<oidc::IssuerConfig> oidc_issuers;
    std::map<std::string, std::string> gateway_tokens_sha256;  // gateway id -> hex SHA-256 of its credential
};

// Reads and validates controller.json; errors name the file and the field.
Result<ControllerConfig> load_controller_config(const std::string& path);
json::Value controller_config_to_json(const ControllerConfig& c);

}  // namespace ztna::controller
