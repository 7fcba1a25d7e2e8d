#include "posture_report.h"

#include <sodium.h>

namespace ztna::posture {

namespace {

void init_sodium() {
    // Idempotent and thread-safe; fails only when no entropy source exists.
    if (sodium_init() < 0) std::abort();
}

constexpr int kReportVersion = 1;

}  // namespace

DeviceSigningKey DeviceSigningKey::generate() {
    init_sodium();
    DeviceSigningKey k;
    crypto_sign_keypair(k.public_.data(), k.secret_.data());
    return k;
}

Result<DeviceSigningKey> DeviceSigningKey::from_seed(std::string_view seed) {
    init_sodium();
    if (seed.size() != crypto_sign_SEEDBYTES)
        return fail("device key seed has " + std::to_string(seed.size()) + " bytes, expected " +
                    std::to_string(crypto_sign_SEEDBYTES) + "; the key file is damaged: re-enroll the device");
    DeviceSigningKey k;
    crypto_sign_seed_keypair(k.public_.data(), k.secret_.data(), reinterpret_cast<const unsigned char*>(seed.data()));
    return k;
}

DeviceSigningKey::~DeviceSigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

DeviceSigningKey::DeviceSigningKey(DeviceSigningKey&& o) noexcept : secret_(o.secret_), public_(o.public_) {
    sodium_memzero(o.secret_.data(), o.secret_.size());
}

std::string DeviceSigningKey::seed_bytes() const {
    std::string seed(crypto_sign_SEEDBYTES, '\0');
    crypto_sign_ed25519_sk_to_seed(reinterpret_cast<unsigned char*>(seed.data()), secret_.data());
    return seed;
}

std::array<std::uint8_t, 64> DeviceSigningKey::sign(std::string_view message) const {
    std::array<std::uint8_t, 64> sig{};
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         secret_.data());
    return sig;
}

std::string to_base64(const std::uint8_t* data, std::size_t n) {
    init_sodium();
    std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

Result<std::string> from_base64(std::string_view b64) {
    init_sodium();
    std::string out(b64.size(), '\0');
    std::size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(), b64.size(), nullptr,
                          &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return fail("not valid base64");
    out.resize(len);
    return out;
}

json::Value report_body(const std::vector<CheckResult>& results, const ReportContext& ctx, Platform platform,
                        std::int64_t collected_at) {
    json::Object o;
    o["version"] = kReportVersion;
    o["device_id"] = ctx.device_id;
    o["agent_version"] = ctx.agent_version;
    o["nonce"] = ctx.nonce;
    o["platform"] = std::string(platform_name(platform));
    o["collected_at"] = json::Value(collected_at);
    o["results"] = to_json(results);
    return o;
}

std::string sign_report(const json::Value& body, const DeviceSigningKey& key) {
    const auto sig = key.sign(json::dump(body));
    json::Object wire;
    wire["alg"] = "Ed25519";
    wire["report"] = body;
    wire["signature"] = to_base64(sig.data(), sig.size());
    return json::dump(wire);
}

namespace {

Result<CheckResult> result_from_json(const json::Value& v, std::size_t index) {
    const std::string where = "report.results[" + std::to_string(index) + "]";
    const auto* id = v.string_at("id");
    const auto* status = v.string_at("status");
    const auto* summary = v.string_at("summary");
    const auto* remediation = v.string_at("remediation");
    const auto* evidence = v.find("evidence");
    if (!id || !status || !summary || !remediation || !evidence || !evidence->is_object())
        return fail(where + " lacks one of id, status, summary, evidence (object), remediation");
    CheckResult r;
    r.id = *id;
    if (*status == "pass") r.status = Status::Pass;
    else if (*status == "fail") r.status = Status::Fail;
    else if (*status == "unknown") r.status = Status::Unknown;
    else return fail(where + ".status is \"" + status->substr(0, 32) + "\"; expected pass, fail or unknown");
    r.summary = *summary;
    r.remediation = *remediation;
    r.evidence = evidence->as_object();
    return r;
}

}  // namespace

Result<VerifiedReport> verify_report(std::string_view signed_json, const DevicePublicKey& key, const VerifyOptions& opt) {
    init_sodium();
    json::ParseLimits lim;
    lim.max_bytes = 1u << 20;
    auto wire = json::parse(signed_json, lim);
    if (!wire) return fail("posture report is not valid JSON: " + wire.error().message);
    const auto* alg = wire->string_at("alg");
    const auto* sig_b64 = wire->string_at("signature");
    const auto* body = wire->find("report");
    if (!alg || !sig_b64 || !body || !body->is_object())
        return fail("posture report lacks \"alg\", \"signature\" or the \"report\" object");
    if (*alg != "Ed25519") return fail("posture report signed with \"" + alg->substr(0, 32) + "\"; only Ed25519 is accepted");
    auto sig = from_base64(*sig_b64);
    if (!sig || sig->size() != crypto_sign_BYTES) return fail("posture report signature is not 64 bytes of base64");
    const std::string signed_text = json::dump(*body);
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                    reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(),
                                    key.data()) != 0)
        return fail("posture report signature does not verify: the report was changed after signing, or another "
                    "device's key signed it");
    // Signed by this device: now the contents.
    const auto* version = body->int_at("version");
    if (!version || *version != kReportVersion)
        return fail("posture report version is not " + std::to_string(kReportVersion));
    const auto* device = body->string_at("device_id");
    if (!device || *device != opt.expected_device_id)
        return fail("posture report is for device \"" + (device ? device->substr(0, 64) : std::string("?")) +
                    "\", not for \"" + opt.expected_device_id + "\"");
    const auto* nonce = body->string_at("nonce");
    if (!nonce || opt.expected_nonce.empty() || nonce->size() != opt.expected_nonce.size() ||
        sodium_memcmp(nonce->data(), opt.expected_nonce.data(), nonce->size()) != 0)
        return fail("posture report answers another nonce than the one issued: a replayed report; ask for a new nonce");
    const auto* when = body->int_at("collected_at");
    if (!when) return fail("posture report has no collected_at");
    if (*when < opt.now - opt.max_age_s)
        return fail("posture report is stale: collected " + std::to_string(opt.now - *when) + " s ago, more than " +
                    std::to_string(opt.max_age_s) + " s");
    if (*when > opt.now + opt.max_clock_skew_s)
        return fail("posture report is from " + std::to_string(*when - opt.now) +
                    " s in the future: the device's clock is wrong");
    const auto* results = body->array_at("results");
    if (!results) return fail("posture report has no results array");
    VerifiedReport out;
    for (std::size_t i = 0; i < results->size(); ++i) {
        auto r = result_from_json((*results)[i], i);
        if (!r) return Unexpected<Error>{r.error()};
        out.results.push_back(std::move(*r));
    }
    out.collected_at = *when;
    out.body = *body;
    return out;
}

}  // namespace ztna::posture
