// The agent's logic, independent of how it is reached (IPC, DNS): enrollment,
// sign-in, the posture loop, decisions, grants and their micro-tunnels,
// renewal, expiry, and the controller's push channel. One worker thread runs
// the control work (run()); the event stream has its own thread; sign-in runs
// on a thread of its own while the user is in the browser. Readers (status,
// apps, DNS) take a snapshot under one mutex and never wait for the network.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent_store.h"
#include "controller_client.h"
#include "dns_stub.h"
#include "micro_tunnels.h"
#include "posture_report.h"
#include "settings.h"
#include "ztna/grant.h"
#include "ztna/json.h"

namespace ztna::agent {

inline constexpr const char* kAgentVersion = "0.1.0";

struct Reason {
    std::string code, message, remediation;
};

struct AppState {
    std::string name, description;
    std::vector<std::string> dns, addresses, ports;
    bool allowed = false;
    std::vector<Reason> reasons;  // why not, when blocked
    std::optional<Grant> grant;   // the open micro-tunnel
    std::string grant_error;      // why an allowed app has no tunnel
};

// What the worker does with the outside world; tests replace pieces of it.
struct AgentDeps {
    std::function<std::int64_t()> now;  // Unix seconds
    // Posture of this machine: results in kCheckIds order.
    std::function<std::vector<posture::CheckResult>()> collect_posture;
    // Split DNS: sends exactly these app names to the DNS stub (resolved_split_dns.h)
    // and says how many it routes. Called by the worker when the apps' names
    // change, and every 30 s while it fails; empty: no split DNS.
    std::function<Result<std::size_t>(const std::vector<std::string>& names)> route_names;
};

class Agent {
public:
    Agent(Settings settings, AgentStore& store, posture::DeviceSigningKey key, ControllerClient controller,
          MicroTunnels& tunnels, AgentDeps deps);
    ~Agent();

    // The worker: runs until stop is set (or a fatal error: false).
    void run(const std::atomic<bool>& stop);
    void wake();

    // IPC-facing; never block on the network.
    // with_login_links: the sign-in link and device code, for callers with control rights.
    json::Value status(bool with_login_links = true);
    json::Value apps();
    json::Value posture(int limit);
    json::Value logs(int limit, std::int64_t since);
    // Starts a browser (loopback) or device-code sign-in; the answer says
    // where to go; `status` follows its progress under "login".
    Result<json::Value> start_login(bool device_flow);
    Result<json::Value> logout(bool user_request);
    void cancel_login();

    // The DNS stub's table.
    dns::Answer lookup(const std::string& name);

    // Notifications for IPC subscribers (the tray): set before run().
    std::function<void(const std::string& event, const json::Value& data)> notify;
    std::string store_problem;  // the store was rebuilt: what was wrong
    // "DEVICE_ID CONTROLLER_URL": the enrollment kept beside the device key, so a
    // lost or corrupt database does not orphan the device (empty: not kept).
    std::string enrollment_file;

private:
    // Worker steps (worker thread only).
    void ensure_enrolled();
    void refresh_access(const char* why);
    void maintain_grants();
    void open_grant(AppState& app);
    void close_if_posture_regressed(const std::vector<posture::CheckResult>& now_results);
    void close_grant(const std::string& app, const std::string& outcome, const Reason& why, bool release);
    void end_session(const Reason& why, bool tell_controller);
    void restore_session();
    void route_app_names(std::int64_t now);
    void release_on_stop();
    void start_events();
    void stop_events();
    void events_loop();
    void on_event(const std::string& type, const json::Value& data);
    void revoke_now(const json::Value& data);  // grant_revoked: from the events thread, at once
    void log_access(const std::string& app, const std::string& outcome, const Reason& r);
    void finish_sign_in(const std::string& id_token, const std::string& refresh_token, const std::string& nonce);
    void refresh_session();
    Result<std::string> challenge();
    std::string session_token();

    Settings settings_;
    AgentStore& store_;
    posture::DeviceSigningKey key_;
    ControllerClient controller_;
    MicroTunnels& tunnels_;
    AgentDeps deps_;

    std::mutex mu_;  // everything below
    std::condition_variable cv_;
    std::string phase_ = "starting";  // starting, enrolling, unenrolled, signed_out, signed_in
    std::string device_id_;
    std::string session_token_;       // secret
    std::string refresh_token_;       // the provider's, secret; empty: the session cannot be extended
    std::int64_t next_session_refresh_ = 0;
    std::string session_id_;
    std::int64_t session_expires_at_ = 0;
    json::Value user_;
    std::string last_error_;          // the latest failure, for status
    bool controller_reachable_ = false;
    bool controller_contacted_ = false;  // false: not tried since start (status says "not contacted yet")
    std::vector<posture::CheckResult> posture_reported_;  // the last posture the controller accepted
    std::int64_t last_contact_ = 0;
    std::map<std::string, AppState> apps_;
    std::vector<posture::CheckResult> posture_;
    std::int64_t posture_at_ = 0, posture_valid_until_ = 0;
    std::int64_t next_posture_ = 0, next_enroll_ = 0, next_refresh_retry_ = 0, next_renew_retry_ = 0;
    std::map<std::string, std::int64_t> grant_obtained_at_;  // by grant id: when it was granted or last renewed
    bool refresh_requested_ = true;
    bool session_warned_ = false;
    std::vector<std::pair<std::string, json::Value>> events_;  // from the stream, for the worker
    std::map<std::string, std::int64_t> dns_denied_logged_;
    std::vector<std::string> names_routed_;  // worker only: the names last handed to route_names
    std::int64_t next_route_try_ = 0;
    bool route_absent_said_ = false;

    // Sign-in in progress.
    struct Login;
    std::shared_ptr<Login> login_;
    std::thread login_thread_;

    // Event stream.
    std::thread events_thread_;
    std::atomic<bool> events_stop_{false};
    std::atomic<bool> events_connected_{false};
    std::unique_ptr<ControllerClient> events_client_;
};

}  // namespace ztna::agent
