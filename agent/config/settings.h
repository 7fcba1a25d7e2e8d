// The agent's settings: managed settings pushed by the fleet's MDM
// (/etc/ztna/managed.json) win over local settings (/etc/ztna/local.json),
// which win over the defaults. docs/agent.md lists every field.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::agent {

struct OidcSettings {
    std::string issuer;             // https URL of the company's identity provider
    std::string client_id = "ztna-agent";
    std::string ca;                 // PEM file to trust for the provider (empty: the system's CAs)
    std::string scopes = "openid email profile groups offline_access";
};

struct Settings {
    std::string controller_url;     // https://host:port
    std::string controller_ca;      // PEM file of the controller CA (pinned)
    std::string enrollment_token;   // secret: never logged
    OidcSettings oidc;
    std::string interface = "ztna0";
    std::string dns_listen = "127.0.0.153";
    int dns_port = 53;
    int posture_interval_s = 60;
    int session_refresh_before_s = 600;  // refresh the session this long before it ends
    json::Value posture_requirements;  // posture/core/requirements.h JSON (null: none)
    std::set<std::string> locks;       // user actions the organization forbids: "logout"
    std::string managed_path, local_path;  // where they came from, for messages
};

// Reads both files (a missing local file is fine; a missing managed file is
// not) and merges them field by field. Errors name the file, line and field.
Result<Settings> load_settings(const std::string& managed_path, const std::string& local_path);

// From JSON text (for tests): one layer over base.
Result<void> apply_settings_layer(Settings& s, const std::string& text, const std::string& file_name);
Result<void> validate_settings(const Settings& s);

}  // namespace ztna::agent
