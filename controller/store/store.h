// The controller's store: every durable fact (enrollment tokens, devices,
// users, audit events) behind one small interface, so that PostgreSQL can back
// it later. SQLite implements it today (sqlite_store.h).
//
// Expected failures come back as Result errors with a stable code
// (Error::code) that the API maps to its error codes: "token_unknown",
// "token_used", "token_expired", "token_revoked", "device_key_exists",
// "not_found", "store_error".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ztna/result.h"

namespace ztna::controller {

// An enrollment token as listed: never the token itself, which only its
// creator sees once; the store keeps its SHA-256.
struct EnrollmentToken {
    std::string id;          // "tok_..." public handle, for list and revoke
    std::string label;       // what the admin wrote ("laptops, Dec rollout")
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
    std::optional<std::int64_t> used_at;
    std::optional<std::string> used_by_device;
    std::optional<std::int64_t> revoked_at;
};

struct Device {
    std::string id;          // "dev_..."
    std::string public_key;  // base64 of the 32-byte Ed25519 public key
    std::string hostname;
    std::string platform;    // linux, windows, macos
    std::int64_t enrolled_at = 0;
    std::string token_id;    // the token it enrolled with
    std::optional<std::int64_t> revoked_at;
};

struct User {
    std::string subject;     // "iss|sub": the identity provider's subject, made unique by issuer
    std::string email;
    std::int64_t first_seen = 0;
    std::optional<std::int64_t> disabled_at;
};

struct AuditEvent {
    std::int64_t id = 0;     // assigned by the store
    std::int64_t at = 0;     // Unix seconds
    std::string kind;        // enroll, device_revoked, token_created, decision, session_start, ...
    std::string actor;       // "admin", a user subject, a gateway id
    std::string user;        // the user concerned, when there is one
    std::string device_id;
    std::string app;
    std::string outcome;     // allowed, denied, ok
    std::string reason;      // a reason code for denials
    std::string detail;      // JSON object text with the rest (bytes, grant id...)
};

// A signed-in user on one device: the bearer token the agent holds is kept
// as its SHA-256 only.
struct Session {
    std::string id;          // "ses_..."
    std::string user;        // subject "iss|sub"
    std::string device_id;
    std::string email;
    std::string groups;      // JSON array text, from the ID token
    std::string amr;         // JSON array text
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
    std::optional<std::int64_t> ended_at;
    std::string end_reason;
};

// One app for one user on one device, for minutes, through one gateway.
struct Grant {
    std::string id;          // "gr_..."
    std::string session_id;
    std::string user;
    std::string device_id;
    std::string app;
    std::string gateway;
    std::string agent_public_key;  // the agent's per-grant WireGuard key (base64)
    std::string tunnel_address;    // the grant's address inside the gateway's tunnel network
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
    std::optional<std::int64_t> ended_at;
    std::string end_reason;
};

struct AuditQuery {
    std::optional<std::string> user;
    std::optional<std::string> app;
    std::optional<std::string> device_id;
    std::optional<std::int64_t> since;
    std::size_t limit = 1000;
};

class Store {
public:
    virtual ~Store() = default;

    virtual Result<void> add_enrollment_token(const EnrollmentToken& token, const std::string& token_hash) = 0;
    virtual Result<std::vector<EnrollmentToken>> list_enrollment_tokens() = 0;
    virtual Result<void> revoke_enrollment_token(const std::string& id, std::int64_t now) = 0;

    // In one transaction: finds the token by its hash, refuses it when it is
    // unknown, used, expired or revoked, stores the device, marks the token
    // used and appends the "enroll" audit event.
    virtual Result<Device> enroll_device(const std::string& token_hash, Device device, std::int64_t now) = 0;
    virtual Result<std::vector<Device>> list_devices() = 0;
    virtual Result<std::optional<Device>> find_device(const std::string& id) = 0;
    virtual Result<void> revoke_device(const std::string& id, std::int64_t now) = 0;

    // Creates the user at first sight; keeps the disabled state of a known one.
    virtual Result<User> upsert_user(const std::string& subject, const std::string& email, std::int64_t now) = 0;
    virtual Result<std::vector<User>> list_users() = 0;
    virtual Result<std::optional<User>> find_user(const std::string& subject) = 0;
    virtual Result<void> set_user_disabled(const std::string& subject_or_email, bool disabled, std::int64_t now) = 0;

    virtual Result<void> add_session(const Session& session, const std::string& token_hash) = 0;
    virtual Result<std::optional<Session>> find_session_by_token(const std::string& token_hash) = 0;
    virtual Result<std::vector<Session>> live_sessions() = 0;  // not ended (expiry is the caller's to check)
    virtual Result<void> end_session(const std::string& id, std::int64_t now, const std::string& reason) = 0;
    // A refresh: a live session's new expiry, groups and amr (from the new ID token).
    virtual Result<void> extend_session(const std::string& id, std::int64_t expires_at, const std::string& groups,
                                        const std::string& amr) = 0;

    // Fails with code "address_taken" when a live grant of the gateway has the
    // address, "key_taken" when a live grant has the public key.
    virtual Result<void> add_grant(const Grant& grant) = 0;
    virtual Result<std::optional<Grant>> find_grant(const std::string& id) = 0;
    virtual Result<std::vector<Grant>> live_grants() = 0;  // not ended
    virtual Result<void> renew_grant(const std::string& id, std::int64_t expires_at) = 0;
    // Ends a live grant; false when it had already ended.
    virtual Result<bool> end_grant(const std::string& id, std::int64_t now, const std::string& reason) = 0;

    virtual Result<std::int64_t> append_audit(const AuditEvent& event) = 0;
    virtual Result<std::vector<AuditEvent>> query_audit(const AuditQuery& query) = 0;
};

}  // namespace ztna::controller
