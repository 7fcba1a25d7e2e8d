// The controller's logic, independent of HTTP: device challenges, sign-in,
// posture-aware decisions, grants and their renewal, revocation (admin
// actions, policy changes, failing posture, expiry) pushed to agents and
// gateways through the event hub, and the policy file's reloads.
// server.cpp maps routes to these methods; docs/protocol.md is the contract.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api_response.h"
#include "controller_config.h"
#include "decide.h"
#include "event_hub.h"
#include "issuer_keys.h"
#include "policy.h"
#include "store.h"

namespace ztna::controller {

using Clock = std::function<std::int64_t()>;  // Unix seconds
std::int64_t system_clock_seconds();

class ControlPlane {
public:
    ControlPlane(ControllerConfig config, Store& store, Policy policy, Clock clock = system_clock_seconds);

    // ---- agents ----
    ApiResponse challenge(const json::Value& body);
    ApiResponse sign_in(const json::Value& body);
    // The live session a bearer token names, or the error to answer (401).
    Result<Session> authenticate(const std::string& bearer_token);
    ApiResponse logout(const Session& s);
    // POST /v1/sessions/refresh: a fresh ID token of the same user (from the
    // provider's refresh token), signed by the device over a fresh challenge,
    // extends the session by the policy's lifetime without a new sign-in.
    ApiResponse refresh_session(const Session& s, const json::Value& body);
    ApiResponse access(const Session& s, const json::Value& body);
    ApiResponse create_grant(const Session& s, const json::Value& body);
    ApiResponse renew_grant(const Session& s, const std::string& grant_id);
    ApiResponse release_grant(const Session& s, const std::string& grant_id);
    static std::string session_topic(const std::string& session_id) { return "session:" + session_id; }

    // ---- gateways ----
    // The gateway a bearer credential belongs to, or nothing.
    std::optional<std::string> authenticate_gateway(const std::string& bearer_token) const;
    ApiResponse gateway_grants(const std::string& gateway_id);
    ApiResponse gateway_report(const std::string& gateway_id, const json::Value& body);
    static std::string gateway_topic(const std::string& gateway_id) { return "gateway:" + gateway_id; }

    // ---- admin actions and time ----
    // Re-decides every live grant (after a user, device or policy change) and
    // ends those no longer allowed, with reason; the agents and gateways are
    // told at once.
    // False when the store failed: the revocation is retried every second.
    bool reevaluate_all(const std::string& cause);
    // Ends the grants and sessions whose time is up. Called every second.
    void tick();
    // Reloads the policy file when it changed; an invalid file keeps the
    // current policy and returns the error.
    Result<bool> reload_policy_if_changed();
    Policy policy() const;

    EventHub& hub() { return hub_; }
    std::int64_t now() const { return clock_(); }

private:
    struct Challenge {
        std::string device_id;
        std::int64_t expires_at = 0;
    };
    struct SessionState {
        PostureState posture;
        std::int64_t posture_at = 0;
        std::map<std::string, std::string> last_decision;  // app -> "allowed" or the first denial code, for the audit log
    };

    Result<std::string> take_challenge(const std::string& nonce, const std::string& device_id);
    Subject subject_of(const Session& s);
    PostureState posture_of(const std::string& session_id);
    json::Value grant_json(const Grant& g, const Policy& p) const;
    Result<std::string> allocate_address(const Gateway& gw);
    void end_grant(const Grant& g, const std::string& reason, const std::string& message, const std::string& remediation = "");
    void audit(const std::string& kind, const std::string& user, const std::string& device, const std::string& app,
               const std::string& outcome, const std::string& reason, json::Object detail = {});
    std::vector<Decision> decisions_for(const Session& s);

    ControllerConfig config_;
    Store& store_;
    Clock clock_;
    EventHub hub_;
    std::vector<std::unique_ptr<oidc::IssuerKeys>> issuers_;

    // The revocation lock: deciding-and-writing a grant, and revoking, never
    // interleave (taken before mu_).
    std::mutex grant_mu_;
    std::atomic<bool> revocation_pending_{false};

    mutable std::mutex mu_;  // guards everything below
    Policy policy_;
    std::string policy_file_key_;
    std::map<std::string, Challenge> challenges_;
    std::map<std::string, SessionState> sessions_;
};

}  // namespace ztna::controller
