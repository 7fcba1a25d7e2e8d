// How ztna-admin reaches the controller: its URL and CA from controller.json,
// the admin credential from admin.token, one HTTPS request per call with the
// CA pinned and the host name verified.
#pragma once

#include <string>

#include "secret_string.h"
#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::controller {

struct ControllerEndpoint {
    std::string url;  // https://host:port
    std::string host;
    int port = 443;
    std::string ca_path;
    SecretString admin_token;
};

// Splits https://host[:port][/]; anything else is an error naming the URL.
Result<ControllerEndpoint> parse_controller_url(const std::string& url);

// From the directory `ztna-admin init` made: controller.json (public_url,
// ca_certificate) and admin.token.
Result<ControllerEndpoint> endpoint_from_dir(const std::string& dir);

// Sends the request (body: JSON, for POST) and returns the JSON answer of a
// 2xx. A JSON error answer becomes an error with its message and remediation;
// a connection or TLS failure says which and what to check.
Result<json::Value> admin_request(const ControllerEndpoint& ep, const std::string& method, const std::string& path,
                                  const json::Value* body = nullptr);

}  // namespace ztna::controller
