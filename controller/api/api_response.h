// What an API handler answers, independent of the HTTP library: a status and
// a JSON body. Errors have one shape everywhere (docs/protocol.md, "Errors"):
//   {"error": {"code": "token_used", "message": "...", "remediation": "..."}}
#pragma once

#include <string>

#include "ztna/json.h"

namespace ztna::controller {

struct ApiResponse {
    int status = 200;
    json::Value body;
};

inline ApiResponse api_error(int status, std::string code, std::string message, std::string remediation) {
    json::Object e;
    e["code"] = std::move(code);
    e["message"] = std::move(message);
    e["remediation"] = std::move(remediation);
    json::Object o;
    o["error"] = json::Value(std::move(e));
    return {status, json::Value(std::move(o))};
}

inline ApiResponse api_ok(json::Value body, int status = 200) { return {status, std::move(body)}; }

}  // namespace ztna::controller
