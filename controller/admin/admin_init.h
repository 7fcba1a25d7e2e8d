// `ztna-admin init`: a new controller directory with a CA, the controller's
// certificate, the admin credential and controller.json.
#pragma once

#include <string>
#include <vector>

#include "ztna/result.h"

namespace ztna::controller {

struct InitOptions {
    std::string dir;                  // created when missing; must not hold a controller.json yet
    std::vector<std::string> names;   // host names and addresses the controller is reached at
    std::string listen_address = "0.0.0.0";
    int port = 8443;
    std::vector<std::string> gateways;  // ids; each gets a credential file gateway-ID.token
};

struct InitResult {
    std::string config_path, ca_path, admin_token_path, public_url, policy_path;
    std::vector<std::string> gateway_token_paths;
};

Result<InitResult> init_controller_dir(const InitOptions& o);

}  // namespace ztna::controller
