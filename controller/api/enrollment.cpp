#include "enrollment.h"

#include <sodium.h>

#include <cctype>
#include <vector>

#include "tokens.h"

namespace ztna::controller {

namespace {

bool decode_base64(const std::string& in, std::vector<unsigned char>& out, std::size_t expected) {
    out.assign(expected + 3, 0);
    std::size_t n = 0;
    if (sodium_base642bin(out.data(), out.size(), in.data(), in.size(), nullptr, &n, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    out.resize(n);
    return n == expected;
}

bool valid_hostname(const std::string& h) {
    if (h.empty() || h.size() > 253) return false;
    for (unsigned char c : h)
        if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_')) return false;
    return true;
}

ApiResponse bad_request(const std::string& message) {
    return api_error(400, "bad_request", message,
                     "Send a JSON object with token, public_key, proof, hostname and platform (docs/protocol.md, Enrollment).");
}

}  // namespace

std::string enrollment_proof_message(const std::string& public_key_b64, const std::string& token) {
    return "ztna-enroll-v1\n" + public_key_b64 + "\n" + token;
}

ApiResponse handle_enroll(Store& store, const json::Value& body, std::int64_t now) {
    if (!body.is_object()) return bad_request("the enrollment request must be a JSON object");
    const std::string* token = body.string_at("token");
    const std::string* key = body.string_at("public_key");
    const std::string* proof = body.string_at("proof");
    const std::string* hostname = body.string_at("hostname");
    const std::string* platform = body.string_at("platform");
    if (!token || token->empty() || token->size() > 256) return bad_request("\"token\" must be a string of 1 to 256 characters");
    if (!key) return bad_request("\"public_key\" (base64 of the device's 32-byte Ed25519 public key) is missing");
    if (!proof) return bad_request("\"proof\" (base64 of the Ed25519 signature of the proof message) is missing");
    if (!hostname || !valid_hostname(*hostname))
        return bad_request("\"hostname\" must be 1 to 253 characters of letters, digits, '-', '.' and '_'");
    if (!platform || (*platform != "linux" && *platform != "windows" && *platform != "macos"))
        return bad_request("\"platform\" must be linux, windows or macos");

    std::vector<unsigned char> pk, sig;
    if (!decode_base64(*key, pk, crypto_sign_PUBLICKEYBYTES) || crypto_core_ed25519_is_valid_point(pk.data()) != 1)
        return api_error(400, "invalid_public_key", "\"public_key\" is not the base64 of a valid 32-byte Ed25519 public key",
                         "Send the device's Ed25519 public key in standard base64 (44 characters).");
    if (!decode_base64(*proof, sig, crypto_sign_BYTES))
        return bad_request("\"proof\" is not the base64 of a 64-byte Ed25519 signature");
    // Proof first: a request with the wrong key must not spend the token.
    const std::string msg = enrollment_proof_message(*key, *token);
    if (crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), pk.data()) != 0)
        return api_error(401, "bad_proof", "the proof was not signed by the private key of \"public_key\"",
                         "Sign the proof message with the device key whose public half is sent (docs/protocol.md).");

    Device d;
    d.id = random_id("dev_");
    d.public_key = *key;
    d.hostname = *hostname;
    d.platform = *platform;
    auto r = store.enroll_device(sha256_hex(*token), std::move(d), now);
    if (!r) {
        const auto& c = r.error().code;
        const std::string ask = "Ask your administrator for a new enrollment token (`ztna-admin tokens create`).";
        if (c == "token_unknown" || c == "token_used" || c == "token_expired" || c == "token_revoked")
            return api_error(401, c, "enrollment refused: " + r.error().message, ask);
        if (c == "device_key_exists")
            return api_error(409, c, "enrollment refused: " + r.error().message,
                             "This device is already enrolled; to enroll it again, create a new device key.");
        return api_error(500, "store_error", "the controller could not store the enrollment",
                         "Try again later; administrators: see the controller's log.");
    }
    json::Object o;
    o["device_id"] = r->id;
    o["enrolled_at"] = r->enrolled_at;
    return api_ok(json::Value(std::move(o)), 201);
}

}  // namespace ztna::controller
