// POST /v1/enroll: a device proves it holds the private half of its Ed25519
// key and spends a one-time enrollment token; it gets a device id.
// docs/protocol.md, "Enrollment".
#pragma once

#include <cstdint>
#include <string>

#include "api_response.h"
#include "store.h"

namespace ztna::controller {

// The bytes a device signs to prove possession of its key.
std::string enrollment_proof_message(const std::string& public_key_b64, const std::string& token);

ApiResponse handle_enroll(Store& store, const json::Value& body, std::int64_t now);

}  // namespace ztna::controller
