// The signed posture report: the results of every check, with the device id,
// agent version, collection time and the controller's nonce, in canonical JSON
// (ztna/json.h), signed with the device's Ed25519 key (libsodium). The
// controller verifies it with verify_report: tampered, replayed (wrong nonce),
// stale or foreign reports are refused with the reason.
//
// Wire form (docs/posture.md):
//   {"alg":"Ed25519","report":{...},"signature":"<base64 of 64 bytes>"}
// where the signature covers json::dump(report), the canonical form.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "check_result.h"
#include "system_view.h"
#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::posture {

using DevicePublicKey = std::array<std::uint8_t, 32>;

// The device's signing key. The secret half is wiped when the object goes
// away, is never printed, and leaves only through seed_bytes() for storage.
class DeviceSigningKey {
public:
    static DeviceSigningKey generate();
    // From a stored 32-byte seed; the error says what is wrong with it.
    static Result<DeviceSigningKey> from_seed(std::string_view seed);
    ~DeviceSigningKey();
    DeviceSigningKey(const DeviceSigningKey&) = delete;
    DeviceSigningKey& operator=(const DeviceSigningKey&) = delete;
    DeviceSigningKey(DeviceSigningKey&& o) noexcept;
    DeviceSigningKey& operator=(DeviceSigningKey&&) = delete;

    const DevicePublicKey& public_key() const { return public_; }
    // The 32-byte seed, for the caller that stores the key (0600 file).
    std::string seed_bytes() const;
    std::array<std::uint8_t, 64> sign(std::string_view message) const;

private:
    DeviceSigningKey() = default;
    std::array<std::uint8_t, 64> secret_{};
    DevicePublicKey public_{};
};

struct ReportContext {
    std::string device_id;
    std::string agent_version;
    std::string nonce;  // given by the controller for this report
};

// The report body, canonical when dumped: {"agent_version","collected_at",
// "device_id","nonce","platform","results":[...],"version":1}.
json::Value report_body(const std::vector<CheckResult>& results, const ReportContext& ctx, Platform platform,
                        std::int64_t collected_at);

// The signed report as JSON text (wire form above).
std::string sign_report(const json::Value& body, const DeviceSigningKey& key);

struct VerifyOptions {
    std::string expected_nonce;      // the nonce the controller issued for this report
    std::string expected_device_id;  // the device the key belongs to
    std::int64_t now = 0;            // the controller's clock, Unix seconds
    std::int64_t max_age_s = 300;    // older reports are stale
    std::int64_t max_clock_skew_s = 60;  // a report may be this far in the future
};

struct VerifiedReport {
    json::Value body;
    std::vector<CheckResult> results;
    std::int64_t collected_at = 0;
};

Result<VerifiedReport> verify_report(std::string_view signed_json, const DevicePublicKey& key, const VerifyOptions& opt);

std::string to_base64(const std::uint8_t* data, std::size_t n);
Result<std::string> from_base64(std::string_view b64);

}  // namespace ztna::posture
