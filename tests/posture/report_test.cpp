// The signed posture report: what the controller accepts and what it refuses.
#include <doctest/doctest.h>

#include "posture_report.h"

using namespace ztna;
using namespace ztna::posture;

namespace {

std::vector<CheckResult> sample_results() {
    return {CheckResult::pass("disk_encryption", "The system disk is encrypted (LUKS2).", {{"root_device", "/dev/nvme0n1p3"}}),
            CheckResult::fail("firewall", "No firewall filters incoming connections.", "Turn on ufw: sudo ufw enable",
                              {{"ufw", "inactive"}})};
}

constexpr std::int64_t kNow = 1764806400;

VerifyOptions options(std::string nonce = "n-4f1c2a") {
    VerifyOptions o;
    o.expected_nonce = std::move(nonce);
    o.expected_device_id = "dev-123";
    o.now = kNow + 10;
    return o;
}

std::string signed_sample(const DeviceSigningKey& key, std::int64_t collected_at = kNow, std::string nonce = "n-4f1c2a") {
    const auto body = report_body(sample_results(), {"dev-123", "0.1.0", std::move(nonce)}, Platform::Linux, collected_at);
    return sign_report(body, key);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a signed report verifies and gives back its results") {
    const auto key = DeviceSigningKey::generate();
    const std::string wire = signed_sample(key);
    auto v = verify_report(wire, key.public_key(), options());
    REQUIRE_MESSAGE(v, (v ? "" : v.error().message));
    REQUIRE(v->results.size() == 2);
    CHECK(v->results[0].id == "disk_encryption");
    CHECK(v->results[0].status == Status::Pass);
    CHECK(v->results[1].status == Status::Fail);
    CHECK(v->results[1].remediation == "Turn on ufw: sudo ufw enable");
    CHECK(v->collected_at == kNow);
    // The body is canonical JSON: keys sorted, no whitespace.
    CHECK(wire.rfind("{\"alg\":\"Ed25519\",\"report\":{\"agent_version\":\"0.1.0\",\"collected_at\":", 0) == 0);
}

TEST_CASE("tampered, foreign, replayed, stale, future and malformed reports are refused with the reason") {
    const auto key = DeviceSigningKey::generate();
    const std::string wire = signed_sample(key);

    auto tampered = verify_report(replace(wire, "\"status\":\"fail\"", "\"status\":\"pass\""), key.public_key(), options());
    REQUIRE(!tampered);
    CHECK(tampered.error().message.find("does not verify") != std::string::npos);

    const auto other = DeviceSigningKey::generate();
    auto foreign = verify_report(wire, other.public_key(), options());
    REQUIRE(!foreign);
    CHECK(foreign.error().message.find("does not verify") != std::string::npos);

    auto replayed = verify_report(wire, key.public_key(), options("n-new-nonce"));
    REQUIRE(!replayed);
    CHECK(replayed.error().message.find("replayed") != std::string::npos);
    CHECK(!verify_report(wire, key.public_key(), options("n-4f1c2")));  // a prefix of the nonce
    CHECK(!verify_report(wire, key.public_key(), options("")));

    auto stale = verify_report(signed_sample(key, kNow - 1000), key.public_key(), options());
    REQUIRE(!stale);
    CHECK(stale.error().message.find("stale") != std::string::npos);

    auto future = verify_report(signed_sample(key, kNow + 3600), key.public_key(), options());
    REQUIRE(!future);
    CHECK(future.error().message.find("future") != std::string::npos);

    VerifyOptions wrong_device = options();
    wrong_device.expected_device_id = "dev-999";
    CHECK(!verify_report(wire, key.public_key(), wrong_device));

    for (const std::string& bad : {std::string(), std::string("{"), std::string("[]"), std::string("{\"alg\":\"Ed25519\"}"),
                                   replace(wire, "\"alg\":\"Ed25519\"", "\"alg\":\"none\""),
                                   replace(wire, "\"signature\":\"", "\"signature\":\"!!"),
                                   wire.substr(0, wire.size() / 2), std::string(2u << 20, '{')}) {
        auto r = verify_report(bad, key.public_key(), options());
        CHECK(!r);
        if (!r) CHECK(!r.error().message.empty());
    }
}

TEST_CASE("a re-encoded report (whitespace, key order) still verifies: the signature covers the canonical form") {
    const auto key = DeviceSigningKey::generate();
    auto parsed = json::parse(signed_sample(key));
    REQUIRE(parsed);
    auto v = verify_report(json::dump_pretty(*parsed), key.public_key(), options());
    CHECK_MESSAGE(v, (v ? "" : v.error().message));
}

TEST_CASE("the device key: seed round-trip, bad seeds refused, the seed is not in the public key") {
    const auto key = DeviceSigningKey::generate();
    const std::string seed = key.seed_bytes();
    REQUIRE(seed.size() == 32);
    auto again = DeviceSigningKey::from_seed(seed);
    REQUIRE(again);
    CHECK(again->public_key() == key.public_key());
    CHECK(verify_report(signed_sample(*again), key.public_key(), options()));
    CHECK(!DeviceSigningKey::from_seed("short"));
    CHECK(std::string(reinterpret_cast<const char*>(key.public_key().data()), 32) != seed);
    auto b = from_base64(to_base64(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size()));
    REQUIRE(b);
    CHECK(*b == seed);
    CHECK(!from_base64("not base64!"));
}
