// The device's identity: an Ed25519 key made once, at the first start, and
// kept in a 0600 file under the state directory. Its public half is what the
// controller enrolls; the private half never leaves the file.
#pragma once

#include <string>

#include "posture_report.h"
#include "ztna/result.h"

namespace ztna::agent {

// Loads the key at path, or creates it (0600, written atomically) when the
// file does not exist. *created tells which happened. A file that exists but
// does not hold a key is an error, never silently replaced: the enrolled
// device would lose its identity.
Result<posture::DeviceSigningKey> load_or_create_device_key(const std::string& path, bool* created = nullptr);

}  // namespace ztna::agent
