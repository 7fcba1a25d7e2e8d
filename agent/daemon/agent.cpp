#include "agent.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "agent_log.h"
#include "oidc_client.h"
#include <sodium.h>

namespace ztna::agent {

namespace {

Reason reason_of(const json::Value& v) {
    Reason r;
    if (const std::string* c = v.string_at("code")) r.code = *c;
    if (const std::string* m = v.string_at("message")) r.message = *m;
    if (const std::string* x = v.string_at("remediation")) r.remediation = *x;
    return r;
}

json::Value reason_json(const Reason& r) {
    return json::Object{{"code", r.code}, {"message", r.message}, {"remediation", r.remediation}};
}

std::vector<std::string> strings_of(const json::Value* v) {
    std::vector<std::string> out;
    if (v && v->is_array())
        for (const auto& x : v->as_array())
            if (x.is_string()) out.push_back(x.as_string());
    return out;
}

json::Value strings_json(const std::vector<std::string>& v) {
    json::Array a;
    for (const auto& s : v) a.push_back(s);
    return a;
}

std::string overall_of(const std::vector<posture::CheckResult>& rs) {
    bool unknown = false;
    for (const auto& r : rs) {
        if (r.status == posture::Status::Fail) return "fail";
        if (r.status == posture::Status::Unknown) unknown = true;
    }
    return unknown ? "unknown" : "pass";
}

std::string sha256_hex_of(const std::string& s) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(s.data()), s.size());
    char hex[2 * sizeof h + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return hex;
}

const Reason kSignedOut{"signed_out", "You are signed out.", "Sign in: ztnactl login (or the tray's Sign in)."};

}  // namespace

struct Agent::Login {
    std::atomic<bool> cancel{false};
    std::string state = "starting";  // starting, waiting_browser, waiting_device, completing, done, failed
    std::string url, user_code, verification_uri, error;
    bool device_flow = false;
    std::int64_t started_at = 0;
};

Agent::Agent(Settings settings, AgentStore& store, posture::DeviceSigningKey key, ControllerClient controller,
             MicroTunnels& tunnels, AgentDeps deps)
    : settings_(std::move(settings)),
      store_(store),
      key_(std::move(key)),
      controller_(std::move(controller)),
      tunnels_(tunnels),
      deps_(std::move(deps)) {}

Agent::~Agent() {
    cancel_login();
    if (login_thread_.joinable()) login_thread_.join();
    stop_events();
}

void Agent::wake() { cv_.notify_all(); }

// ---- the worker ----

void Agent::run(const std::atomic<bool>& stop) {
    restore_session();
    // Expiry on the agent's own clock, on a thread of its own: a controller that
    // accepts connections but never answers can hold the worker for seconds, and a
    // grant must still close at expires_at.
    std::thread expiry([&] {
        while (!stop) {
            std::vector<std::string> expired;
            {
                std::unique_lock lock(mu_);
                cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop.load(); });
                const std::int64_t now = deps_.now();
                for (const auto& [n, a] : apps_)
                    if (a.grant && now >= a.grant->expires_at) expired.push_back(n);
            }
            for (const auto& n : expired)
                close_grant(n, "expired", {"expired", "The grant expired before it could be renewed.", "Check the connection to the controller."},
                            false);
        }
    });
    while (!stop) {
        std::vector<std::pair<std::string, json::Value>> events;
        {
            std::lock_guard lock(mu_);
            events.swap(events_);
        }
        for (const auto& [type, data] : events) on_event(type, data);

        std::string phase;
        {
            std::lock_guard lock(mu_);
            phase = phase_;
        }
        const std::int64_t now = deps_.now();
        if ((phase == "starting" || phase == "unenrolled") && now >= next_enroll_) ensure_enrolled();
        {
            std::lock_guard lock(mu_);
            phase = phase_;
        }
        if (phase == "signed_in") {
            std::int64_t expires;
            bool warn = false;
            {
                std::lock_guard lock(mu_);
                expires = session_expires_at_;
                if (expires - now <= 600 && !session_warned_) warn = session_warned_ = true;
            }
            if (now >= expires) {
                end_session({"session_expired", "Your sign-in expired.", "Sign in again: ztnactl login."}, false);
            } else {
                bool refresh_due;
                {
                    std::lock_guard lock(mu_);
                    refresh_due = !refresh_token_.empty() && expires - now <= settings_.session_refresh_before_s &&
                                  now >= next_session_refresh_;
                }
                if (refresh_due) refresh_session();
                if (warn) {
                    log_info("session", "the session ends in %lld s; sign in again to keep access", (long long)(expires - now));
                    if (notify) notify("session_ending", json::Object{{"expires_at", expires}});
                }
                if (!events_thread_.joinable()) start_events();
                bool due, asked;
                {
                    std::lock_guard lock(mu_);
                    asked = refresh_requested_ && now >= next_refresh_retry_;
                    due = asked || now >= next_posture_;
                }
                if (due) refresh_access(asked ? "the controller or the user asked" : "every posture_interval_s");
                maintain_grants();
                tunnels_.nudge_new(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch()).count());
            }
        } else {
            if (events_thread_.joinable()) stop_events();
            if (now >= next_posture_ && phase != "starting") refresh_access("every posture_interval_s");
        }
        route_app_names(now);
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return !events_.empty() || stop.load(); });
    }
    cv_.notify_all();
    expiry.join();
    stop_events();
    release_on_stop();
}

void Agent::release_on_stop() {
    // The tunnels are already closed (ztna-agentd closes them at the signal,
    // before the worker ends). Telling the controller lets the gateway drop its
    // peers now rather than at expiry. Only while the controller answered last,
    // and calls start only within 4 s, each with at most 2 s per step (connect,
    // send, answer): a stop (systemctl: 10 s) must not wait long on a dead one.
    std::vector<Grant> open;
    std::string token;
    {
        std::lock_guard lock(mu_);
        if (!controller_reachable_ || phase_ != "signed_in") return;
        token = session_token_;
        for (auto& [n, a] : apps_)
            if (a.grant) open.push_back(*a.grant);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    std::size_t released = 0;
    for (const auto& g : open) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left < 1) break;
        auto r = controller_.post("/v1/grants/" + g.id + "/release", json::Object{}, token, int(std::min<std::int64_t>(2, left)));
        if (!r) break;  // unreachable: the rest expire on their own
        if (r->status / 100 == 2) ++released;
    }
    if (!open.empty()) log_info("grant", "stopping: released %zu of %zu grants at the controller (the others expire on their own)", released, open.size());
}

void Agent::route_app_names(std::int64_t now) {
    if (!deps_.route_names || now < next_route_try_) return;
    std::vector<std::string> names;
    {
        std::lock_guard lock(mu_);
        for (const auto& [n, a] : apps_) names.insert(names.end(), a.dns.begin(), a.dns.end());
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names.empty() || names == names_routed_) return;  // signed out: the old names stay with the stub
    auto r = deps_.route_names(names);
    if (!r) {
        // resolved absent: said once, tried again quietly in case it starts later.
        if (r.error().code != "resolved_absent") log_error("dns", "%s; trying again in 30 s", r.error().message.c_str());
        else if (!route_absent_said_) log_info("dns", "%s", r.error().message.c_str());
        route_absent_said_ = route_absent_said_ || r.error().code == "resolved_absent";
        next_route_try_ = now + 30;
        return;
    }
    if (*r == names.size()) log_info("dns", "systemd-resolved sends %zu app names to the stub (split DNS)", *r);
    else log_error("dns", "systemd-resolved sends %zu of %zu app names to the stub: the others are not valid DNS names", *r, names.size());
    names_routed_ = std::move(names);
}

void Agent::restore_session() {
    auto dev = store_.get_state("device_id");
    auto url = store_.get_state("controller_url");
    if (!dev || !url) {
        log_error("store", "cannot read the agent's state: %s", (!dev ? dev.error() : url.error()).message.c_str());
        return;
    }
    std::string dev_id = *dev ? **dev : "", dev_url = *url ? **url : "";
    if (dev_id.empty() && !enrollment_file.empty()) {
        // The database lost it (rebuilt): the copy beside the key still knows.
        std::ifstream in(enrollment_file);
        in >> dev_id >> dev_url;
        if (!dev_id.empty() && dev_url == settings_.controller_url) {
            (void)store_.put_state("device_id", dev_id);
            (void)store_.put_state("controller_url", dev_url);
            log_info("store", "device id %s recovered from %s", dev_id.c_str(), enrollment_file.c_str());
        }
    }
    if (dev_id.empty() || dev_url != settings_.controller_url) return;  // not enrolled with this controller
    std::lock_guard lock(mu_);
    device_id_ = dev_id;
    phase_ = "signed_out";
    auto tok = store_.get_state("session.token");
    auto exp = store_.get_state("session.expires_at");
    auto sid = store_.get_state("session.id");
    auto user = store_.get_state("session.user");
    (void)store_.clear_grants();  // their keys died with the previous process: new grants replace them
    if (tok && exp && *tok && *exp) {
        const std::int64_t e = std::strtoll((*exp)->c_str(), nullptr, 10);
        if (e > deps_.now()) {
            session_token_ = **tok;
            session_expires_at_ = e;
            if (sid && *sid) session_id_ = **sid;
            if (user && *user)
                if (auto u = json::parse(**user)) user_ = *u;
            if (auto rt = store_.get_state("session.refresh_token"); rt && *rt) refresh_token_ = **rt;
            phase_ = "signed_in";
            refresh_requested_ = true;
            log_info("session", "restored the session %s (valid until %lld): asking for grants again", session_id_.c_str(), (long long)e);
            return;
        }
        (void)store_.clear_session();
    }
}

void Agent::ensure_enrolled() {
    {
        std::lock_guard lock(mu_);
        if (!device_id_.empty()) {
            if (phase_ == "starting") phase_ = "signed_out";
            return;
        }
        phase_ = "enrolling";
    }
    const std::int64_t now = deps_.now();
    // The device id is also kept beside the key, so a lost database does not orphan the enrollment.
    if (settings_.enrollment_token.empty()) {
        std::lock_guard lock(mu_);
        phase_ = "unenrolled";
        last_error_ = "this device is not enrolled and the managed settings hold no enrollment_token; ask your administrator for one";
        next_enroll_ = now + 60;
        return;
    }
    const std::string pub = posture::to_base64(key_.public_key().data(), 32);
    const auto sig = key_.sign("ztna-enroll-v1\n" + pub + "\n" + settings_.enrollment_token);
    char host[256] = "unknown";
    ::gethostname(host, sizeof host - 1);
    auto r = controller_.post_ok("enrollment", "/v1/enroll",
                                 json::Object{{"token", settings_.enrollment_token},
                                              {"public_key", pub},
                                              {"proof", posture::to_base64(sig.data(), sig.size())},
                                              {"hostname", std::string(host)},
                                              {"platform", "linux"}});
    std::lock_guard lock(mu_);
    if (!r) {
        phase_ = "unenrolled";
        controller_reachable_ = r.error().code != "unreachable";
        controller_contacted_ = true;
        last_error_ = r.error().message;
        next_enroll_ = now + (r.error().code == "unreachable" ? 5 : 60);
        log_error("enroll", "%s", r.error().message.c_str());
        return;
    }
    const std::string* id = r->string_at("device_id");
    if (!id) {
        phase_ = "unenrolled";
        last_error_ = "the controller's enrollment answer has no device_id";
        next_enroll_ = now + 60;
        return;
    }
    device_id_ = *id;
    controller_reachable_ = controller_contacted_ = true;
    last_contact_ = now;
    if (auto s = store_.put_state("device_id", device_id_); !s) log_error("store", "%s", s.error().message.c_str());
    if (auto s = store_.put_state("controller_url", settings_.controller_url); !s) log_error("store", "%s", s.error().message.c_str());
    if (!enrollment_file.empty()) {
        std::ofstream out(enrollment_file + ".new", std::ios::trunc);
        out << device_id_ << " " << settings_.controller_url << "\n";
        out.close();
        if (!out || std::rename((enrollment_file + ".new").c_str(), enrollment_file.c_str()) != 0)
            log_error("enroll", "cannot keep the enrollment in %s", enrollment_file.c_str());
    }
    phase_ = "signed_out";
    last_error_.clear();
    log_info("enroll", "enrolled with %s as device %s", settings_.controller_url.c_str(), device_id_.c_str());
    if (notify) notify("state", json::Object{{"phase", phase_}});
}

Result<std::string> Agent::challenge() {
    std::string dev;
    {
        std::lock_guard lock(mu_);
        dev = device_id_;
    }
    auto r = controller_.post_ok("challenge", "/v1/challenge", json::Object{{"device_id", dev}});
    if (!r) return Unexpected<Error>{r.error()};
    const std::string* n = r->string_at("nonce");
    if (!n) return fail("bad_answer", "the controller's challenge has no nonce");
    return *n;
}

std::string Agent::session_token() {
    std::lock_guard lock(mu_);
    return session_token_;
}

void Agent::refresh_access(const char* why) {
    const std::int64_t now = deps_.now();
    std::vector<posture::CheckResult> results = deps_.collect_posture();
    const std::string overall = overall_of(results);
    {
        std::lock_guard lock(mu_);
        posture_ = results;
        posture_at_ = now;
        next_posture_ = now + settings_.posture_interval_s;
    }
    json::Array rs;
    for (const auto& r : results) rs.push_back(posture::to_json(r));
    (void)store_.add_posture({0, now, overall, json::dump(json::Value(rs))});

    std::string token, dev;
    {
        std::lock_guard lock(mu_);
        if (phase_ != "signed_in") return;
        token = session_token_;
        dev = device_id_;
        refresh_requested_ = false;
    }
    auto fail_soft = [&](const Error& e) {
        if (e.code == "unreachable") close_if_posture_regressed(results);
        std::lock_guard lock(mu_);
        last_error_ = e.message;
        controller_contacted_ = true;
        if (e.code == "unreachable") controller_reachable_ = false;
        refresh_requested_ = true;
        next_refresh_retry_ = now + 5;
        log_error("access", "%s", e.message.c_str());
    };
    auto nonce = challenge();
    if (!nonce) return fail_soft(nonce.error());
    const json::Value body = posture::report_body(results, {dev, kAgentVersion, *nonce}, posture::Platform::Linux, now);
    auto signed_report = json::parse(posture::sign_report(body, key_));
    if (!signed_report) return fail_soft(Error{"cannot build the posture report: " + signed_report.error().message, "internal"});
    auto r = controller_.post("/v1/access", json::Object{{"report", *signed_report}}, token);
    if (!r) return fail_soft(r.error());
    if (r->status == 401) {
        const json::Value* e = r->body.find("error");
        end_session(e ? reason_of(*e) : Reason{"signed_out", "The controller no longer accepts this session.", ""}, false);
        return;
    }
    if (r->status != 200) {
        const json::Value* e = r->body.find("error");
        Reason why = e ? reason_of(*e) : Reason{"http_" + std::to_string(r->status), describe_refusal(*r), ""};
        if (why.code == "user_disabled" || why.code == "device_revoked") {
            // Everything stays shut while this holds.
            std::vector<std::string> names;
            {
                std::lock_guard lock(mu_);
                for (auto& [n, a] : apps_) {
                    a.allowed = false;
                    a.reasons = {why};
                    names.push_back(n);
                }
                controller_reachable_ = controller_contacted_ = true;
                last_error_ = why.message;
                next_refresh_retry_ = now + 30;
                refresh_requested_ = true;
            }
            for (const auto& n : names) close_grant(n, "revoked", why, false);
            return;
        }
        return fail_soft(Error{"access: " + why.message, why.code});
    }
    const json::Array* list = r->body.array_at("apps");
    if (!list) return fail_soft(Error{"the controller's access answer has no apps list", "bad_answer"});
    {
        std::lock_guard lock(mu_);
        posture_reported_ = results;
    }
    std::vector<std::string> to_open, to_close;
    std::vector<std::pair<std::string, Reason>> close_reason;
    {
        std::lock_guard lock(mu_);
        controller_reachable_ = controller_contacted_ = true;
        last_contact_ = now;
        last_error_.clear();
        if (const std::int64_t* v = r->body.int_at("posture_valid_until")) posture_valid_until_ = *v;
        std::set<std::string> seen;
        for (const auto& a : *list) {
            const std::string* name = a.string_at("name");
            if (!name) continue;
            seen.insert(*name);
            AppState& s = apps_[*name];
            const bool was_allowed = s.allowed;
            const bool was_known = !s.name.empty();
            s.name = *name;
            if (const std::string* d = a.string_at("description")) s.description = *d;
            s.dns = strings_of(a.find("dns"));
            for (auto& d : s.dns) std::transform(d.begin(), d.end(), d.begin(), ::tolower);
            s.addresses = strings_of(a.find("addresses"));
            s.ports = strings_of(a.find("ports"));
            const bool* allowed = a.bool_at("allowed");
            s.allowed = allowed && *allowed;
            if (s.allowed && !was_allowed) s.grant_error.clear();  // an old tunnel's end is no news now
            s.reasons.clear();
            if (const json::Array* rr = a.array_at("reasons"))
                for (const auto& x : *rr) s.reasons.push_back(reason_of(x));
            if (!was_known || was_allowed != s.allowed) {
                const Reason first = s.reasons.empty() ? Reason{} : s.reasons.front();
                AccessRow row{0, now, s.name, s.allowed ? "allow" : "deny", first.code, s.allowed ? "allowed by the controller" : first.message};
                (void)store_.log_access(row);
            }
            if (s.allowed && !s.grant) to_open.push_back(s.name);
            if (!s.allowed && s.grant) close_reason.push_back({s.name, s.reasons.empty() ? Reason{"denied", "access denied", ""} : s.reasons.front()});
        }
        for (auto& [n, s] : apps_)
            if (!seen.count(n)) {
                if (s.grant) close_reason.push_back({n, Reason{"app_removed", "This app was removed from the policy.", ""}});
                s.allowed = false;
                s.reasons = {Reason{"app_removed", "This app is no longer offered.", ""}};
            }
    }
    for (const auto& [n, why2] : close_reason) close_grant(n, "revoked", why2, true);
    for (const auto& n : to_open) {
        AppState copy;
        {
            std::lock_guard lock(mu_);
            copy = apps_[n];
        }
        open_grant(copy);
    }
    log_info("access", "posture %s, %zu apps (%s)", overall.c_str(), list->size(), why);
    if (notify) notify("apps", apps());
}

void Agent::close_if_posture_regressed(const std::vector<posture::CheckResult>& now_results) {
    // The controller cannot be asked, and a check that passed when it last decided no
    // longer does: the grants it gave rest on a posture that is gone. Fail closed.
    std::string check;
    {
        std::lock_guard lock(mu_);
        for (const auto& before : posture_reported_)
            if (before.status == posture::Status::Pass)
                for (const auto& r : now_results)
                    if (r.id == before.id && r.status != posture::Status::Pass) check = r.id;
    }
    if (check.empty()) return;
    const Reason why{"posture_unverified",
                     "Device check " + check + " no longer passes and the controller cannot be reached to decide again.",
                     "Fix the check (ztnactl posture says how); access returns when the controller confirms it."};
    std::vector<std::string> names;
    {
        std::lock_guard lock(mu_);
        for (auto& [n, a] : apps_)
            if (a.grant) {
                names.push_back(n);
                a.allowed = false;
                a.reasons = {why};
            }
    }
    for (const auto& n : names) close_grant(n, "revoked", why, false);
}

void Agent::open_grant(AppState& app) {
    const GrantKey key = MicroTunnels::new_key();
    const std::int64_t now = deps_.now();
    auto r = controller_.post("/v1/grants", json::Object{{"app", app.name}, {"public_key", key.public_b64}}, session_token());
    // Under the lock; returns the id of a grant we cannot use, released on the
    // controller once the lock is let go (readers never wait for the network).
    const std::string to_release = [&]() -> std::string {
        std::lock_guard lock(mu_);
        AppState& s = apps_[app.name];
        if (!r) {
            s.grant_error = r.error().message;
            controller_reachable_ = false;
            controller_contacted_ = true;
            refresh_requested_ = true;
            next_refresh_retry_ = now + 5;
            return "";
        }
        if (r->status != 201) {
            const json::Value* e = r->body.find("error");
            Reason why = e ? reason_of(*e) : Reason{"http_" + std::to_string(r->status), describe_refusal(*r), ""};
            if (const json::Array* rr = r->body.array_at("reasons")) {
                s.reasons.clear();
                for (const auto& x : *rr) s.reasons.push_back(reason_of(x));
                s.allowed = false;
            }
            s.grant_error = why.message;
            log_error("grant", "%s: %s", app.name.c_str(), why.message.c_str());
            return "";
        }
        auto g = parse_grant(r->body);
        if (g && (g->agent_public_key != key.public_b64 || g->app != app.name))
            g = fail("it is for another key or app than the one asked for");
        if (!g) {
            s.grant_error = "the controller's grant cannot be enforced exactly: " + g.error().message;
            log_error("grant", "%s: %s", app.name.c_str(), s.grant_error.c_str());
            const std::string* id = r->body.string_at("id");
            return id ? *id : "";  // the gateway must not keep a peer we will not use
        }
        // Opening the tunnel runs ip and nft: quick, and kept under the lock so DNS never sees a half-open app.
        const auto t0 = std::chrono::steady_clock::now();
        if (auto o = tunnels_.open_grant(*g, key); !o) {
            s.grant_error = o.error().message;
            log_error("grant", "%s", o.error().message.c_str());
            return g->id;
        }
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        s.grant = *g;
        s.grant_error.clear();
        (void)store_.upsert_grant({g->id, g->app, g->expires_at, g->tunnel_address, json::dump(r->body)});
        (void)store_.log_access({0, now, app.name, "connected", "", "micro-tunnel " + g->id + " open via " + g->gateway_id + " (" + g->gateway_endpoint + ")"});
        log_info("grant", "%s: micro-tunnel %s open (%s -> %s via %s, until %lld; set up in %.1f ms)", app.name.c_str(), g->id.c_str(),
                 g->tunnel_address.c_str(), g->addresses.empty() ? "" : g->addresses[0].c_str(), g->gateway_endpoint.c_str(),
                 (long long)g->expires_at, ms);
        grant_obtained_at_[g->id] = now;
        return "";
    }();
    if (!to_release.empty()) (void)controller_.post("/v1/grants/" + to_release + "/release", json::Object{}, session_token());
}

void Agent::close_grant(const std::string& app, const std::string& outcome, const Reason& why, bool release) {
    std::optional<Grant> g;
    {
        std::lock_guard lock(mu_);
        auto it = apps_.find(app);
        if (it == apps_.end() || !it->second.grant) return;
        g = it->second.grant;
        it->second.grant.reset();
        // Why an app that stays allowed has no tunnel now (ztnactl apps shows it).
        it->second.grant_error = why.message + (why.remediation.empty() ? "" : " " + why.remediation);
        if (auto r = tunnels_.close_grant(g->id); !r) log_error("grant", "%s", r.error().message.c_str());
        grant_obtained_at_.erase(g->id);
    }
    (void)store_.remove_grant(g->id);
    (void)store_.log_access({0, deps_.now(), app, outcome, why.code, why.message});
    log_info("grant", "%s: micro-tunnel %s closed (%s: %s)", app.c_str(), g->id.c_str(), why.code.c_str(), why.message.c_str());
    if (release) (void)controller_.post("/v1/grants/" + g->id + "/release", json::Object{}, session_token());
    if (notify) notify("apps", apps());
}

void Agent::maintain_grants() {
    const std::int64_t now = deps_.now();
    std::vector<std::pair<std::string, Grant>> due, expired;
    {
        std::lock_guard lock(mu_);
        for (const auto& [n, a] : apps_) {
            if (!a.grant) continue;
            if (now >= a.grant->expires_at) expired.push_back({n, *a.grant});
            else {
                const std::int64_t got = grant_obtained_at_.count(a.grant->id) ? grant_obtained_at_[a.grant->id] : now;
                const std::int64_t life = std::max<std::int64_t>(a.grant->expires_at - got, 1);
                if (a.grant->expires_at - now <= std::max<std::int64_t>(life * 2 / 5, 5) && now >= next_renew_retry_)
                    due.push_back({n, *a.grant});
            }
        }
    }
    for (const auto& [n, g] : expired)  // fail closed on our own clock (the expiry thread does it too)
        close_grant(n, "expired", {"expired", "The grant expired before it could be renewed.", "Check the connection to the controller."}, false);
    for (const auto& [n, g] : due) {
        auto r = controller_.post("/v1/grants/" + g.id + "/renew", json::Object{}, session_token());
        if (!r) {
            std::lock_guard lock(mu_);
            controller_reachable_ = false;
            controller_contacted_ = true;
            last_error_ = r.error().message + " (grants stay until they expire)";
            next_renew_retry_ = now + 5;
            continue;
        }
        if (r->status == 200 || r->status == 201) {
            auto ng = parse_grant(r->body);
            std::lock_guard lock(mu_);
            controller_reachable_ = controller_contacted_ = true;
            last_contact_ = now;
            auto it = apps_.find(n);
            if (ng && it != apps_.end() && it->second.grant && it->second.grant->id == g.id) {
                it->second.grant->expires_at = ng->expires_at;
                grant_obtained_at_[g.id] = now;
                (void)store_.upsert_grant({g.id, g.app, ng->expires_at, g.tunnel_address, json::dump(r->body)});
            }
            continue;
        }
        Reason why;
        if (const json::Array* rr = r->body.array_at("reasons"); rr && !rr->empty()) why = reason_of(rr->front());
        else if (const json::Value* e = r->body.find("error")) why = reason_of(*e);
        close_grant(n, "revoked", why, false);
        std::lock_guard lock(mu_);
        refresh_requested_ = true;
    }
}

void Agent::end_session(const Reason& why, bool tell_controller) {
    std::string token;
    std::vector<std::string> names;
    {
        std::lock_guard lock(mu_);
        if (phase_ != "signed_in") return;
        token = session_token_;
        for (auto& [n, a] : apps_) names.push_back(n);
    }
    for (const auto& n : names) close_grant(n, why.code == "signed_out" ? "signed_out" : "revoked", why, false);
    {
        std::lock_guard lock(mu_);
        phase_ = "signed_out";
        session_token_.clear();
        refresh_token_.clear();
        session_id_.clear();
        session_expires_at_ = 0;
        session_warned_ = false;
        for (auto& [n, a] : apps_) {
            a.allowed = false;
            a.grant_error.clear();
            a.reasons = {why.code.empty() ? kSignedOut : Reason{why.code, why.message, kSignedOut.remediation}};
        }
    }
    (void)store_.clear_session();
    (void)store_.clear_grants();
    log_info("session", "signed out: %s", why.message.c_str());
    stop_events();
    if (tell_controller) (void)controller_.post("/v1/sessions/logout", json::Object{}, token);
    if (notify) notify("state", json::Object{{"phase", "signed_out"}, {"reason", reason_json(why)}});
}

// ---- the push channel ----

void Agent::start_events() {
    stop_events();
    events_stop_ = false;
    events_client_ = std::make_unique<ControllerClient>(controller_);
    events_thread_ = std::thread([this] { events_loop(); });
}

void Agent::stop_events() {
    if (!events_thread_.joinable()) return;
    events_stop_ = true;
    if (events_client_) events_client_->interrupt();
    events_thread_.join();
    events_connected_ = false;
}

void Agent::events_loop() {
    int backoff_ms = 250;
    while (!events_stop_) {
        const std::string token = session_token();
        if (token.empty()) return;
        auto r = events_client_->stream_events(
            token,
            [&](const std::string& type, const json::Value& data) {
                if (type == "hello") {
                    events_connected_ = true;
                    backoff_ms = 250;
                }
                // A revocation is carried out here, at once, even while the worker waits
                // on the network; the worker then asks again (resynchronizes).
                if (type == "grant_revoked") revoke_now(data);
                {
                    std::lock_guard lock(mu_);
                    if (events_.size() < 1000) events_.push_back({type, data});
                }
                cv_.notify_all();
            },
            events_stop_);
        events_connected_ = false;
        if (events_stop_) return;
        if (!r && (r.error().code == "signed_out" || r.error().code == "session_expired")) {
            std::lock_guard lock(mu_);
            events_.push_back({"session_ended", json::Object{{"reason", r.error().code}}});
            cv_.notify_all();
            return;
        }
        log_error("events", "%s; reconnecting in %d ms", r ? "the event stream ended" : r.error().message.c_str(), backoff_ms);
        for (int waited = 0; waited < backoff_ms && !events_stop_; waited += 50) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        backoff_ms = std::min(backoff_ms * 2, 10000);
    }
}

void Agent::revoke_now(const json::Value& data) {
    const std::string* id = data.string_at("grant_id");
    if (!id) return;
    Reason why;
    if (const std::string* r = data.string_at("reason")) why.code = *r;
    if (const std::string* m = data.string_at("message")) why.message = *m;
    if (const std::string* x = data.string_at("remediation")) why.remediation = *x;
    std::string app;
    {
        std::lock_guard lock(mu_);
        for (auto& [n, a] : apps_)
            if (a.grant && a.grant->id == *id) {
                app = n;
                a.allowed = false;
                a.reasons = {why};
            }
    }
    if (!app.empty()) close_grant(app, "revoked", why, false);
}

void Agent::on_event(const std::string& type, const json::Value& data) {
    if (type == "hello") {
        std::lock_guard lock(mu_);
        refresh_requested_ = true;  // (re)connected: resynchronize
        next_refresh_retry_ = 0;
        controller_reachable_ = controller_contacted_ = true;
        return;
    }
    if (type == "grant_revoked") {
        revoke_now(data);  // done already on the events thread; a no-op then
        std::lock_guard lock(mu_);
        refresh_requested_ = true;  // the full answer tells why, and reopens what is still allowed
        next_refresh_retry_ = 0;
        return;
    }
    if (type == "logout") {
        end_session({"signed_out", "You signed out.", "Sign in: ztnactl login."}, true);
        return;
    }
    if (type == "access_changed") {
        std::lock_guard lock(mu_);
        refresh_requested_ = true;
        next_refresh_retry_ = 0;
        return;
    }
    if (type == "session_ended") {
        const std::string* r = data.string_at("reason");
        const std::string code = r ? *r : "signed_out";
        end_session({code, code == "expired" || code == "session_expired" ? "Your sign-in expired." : "The controller ended your session.",
                     "Sign in again: ztnactl login."},
                    false);
    }
}

// ---- sign-in ----

Result<json::Value> Agent::start_login(bool device_flow) {
    {
        std::lock_guard lock(mu_);
        if (device_id_.empty())
            return fail("not_enrolled", "this device is not enrolled yet" + (last_error_.empty() ? std::string() : ": " + last_error_));
        if (phase_ == "signed_in") {
            const std::string* e = user_.string_at("email");
            return fail("already_signed_in", "already signed in" + (e ? " as " + *e : std::string()) +
                                                 "; sign out first (ztnactl logout) to sign in as someone else");
        }
        if (login_ && login_->state != "done" && login_->state != "failed")
            return fail("login_in_progress", "a sign-in is already in progress; finish it in the browser or cancel it with `ztnactl login --cancel`");
    }
    if (login_thread_.joinable()) login_thread_.join();
    auto login = std::make_shared<Login>();
    login->device_flow = device_flow;
    login->started_at = deps_.now();
    {
        std::lock_guard lock(mu_);
        login_ = login;
    }
    login_thread_ = std::thread([this, login] {
        const auto failed = [&](const std::string& why) {
            {
                std::lock_guard lock(mu_);
                login->state = "failed";
                login->error = why;
            }
            log_error("login", "%s", why.c_str());
            cv_.notify_all();
        };
        OidcClient idp(settings_.oidc);
        auto ep = idp.discover();
        if (!ep) return failed(ep.error().message);
        auto nonce = challenge();
        if (!nonce) return failed("cannot start the sign-in: " + nonce.error().message);
        Result<std::string> id_token = fail("not started");
        std::string refresh_token;
        if (!login->device_flow) {
            auto lb = LoopbackLogin::start(*ep, settings_.oidc, *nonce);
            if (!lb) return failed(lb.error().message);
            {
                std::lock_guard lock(mu_);
                login->url = (*lb)->authorization_url();
                login->state = "waiting_browser";
            }
            cv_.notify_all();
            auto code = (*lb)->wait(std::chrono::seconds(300), login->cancel);
            if (!code) return failed(code.error().message);
            {
                std::lock_guard lock(mu_);
                login->state = "completing";
            }
            auto t = idp.exchange_code(*ep, *code, (*lb)->redirect_uri(), (*lb)->verifier());
            if (!t) return failed(t.error().message);
            id_token = t->id_token;
            refresh_token = t->refresh_token;
        } else {
            auto d = idp.start_device(*ep, *nonce);
            if (!d) return failed(d.error().message);
            {
                std::lock_guard lock(mu_);
                login->user_code = d->user_code;
                login->verification_uri = d->verification_uri;
                login->url = d->verification_uri_complete;
                login->state = "waiting_device";
            }
            cv_.notify_all();
            const std::int64_t until = deps_.now() + std::min<std::int64_t>(d->expires_in, 300);
            while (true) {
                for (int i = 0; i < d->interval * 10 && !login->cancel; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
                if (login->cancel) return failed("the sign-in was cancelled");
                if (deps_.now() >= until) return failed("the device sign-in was not approved in time; run `ztnactl login --device` again");
                bool slow_down = false;
                auto t = idp.poll_device(*ep, d->device_code, &slow_down);
                if (!t) return failed(t.error().message);
                if (slow_down) d->interval += 5;  // RFC 8628 section 3.5
                if (*t) {
                    id_token = (*t)->id_token;
                    refresh_token = (*t)->refresh_token;
                    break;
                }
            }
        }
        finish_sign_in(*id_token, refresh_token, *nonce);
    });
    std::unique_lock lock(mu_);
    // A moment for the thread to publish where to go (discovery and a challenge: tens of
    // ms), so the caller can print it; past 3 s the answer is "starting" and the caller
    // follows status. The IPC thread is never held longer.
    cv_.wait_for(lock, std::chrono::seconds(3), [&] { return login->state != "starting"; });
    json::Object out{{"state", login->state}};
    if (!login->url.empty()) out["url"] = login->url;
    if (!login->user_code.empty()) {
        out["user_code"] = login->user_code;
        out["verification_uri"] = login->verification_uri;
    }
    if (!login->error.empty()) out["error"] = login->error;
    return json::Value(out);
}

void Agent::finish_sign_in(const std::string& id_token, const std::string& refresh_token, const std::string& nonce) {
    std::string dev;
    std::shared_ptr<Login> login;
    {
        std::lock_guard lock(mu_);
        dev = device_id_;
        login = login_;
    }
    if (login && login->cancel) {
        std::lock_guard lock(mu_);
        login->state = "failed";
        login->error = "the sign-in was cancelled";
        return;
    }
    const auto sig = key_.sign("ztna-session-v1\n" + nonce + "\n" + sha256_hex_of(id_token));
    auto r = controller_.post_ok("sign-in", "/v1/sessions",
                                 json::Object{{"device_id", dev},
                                              {"nonce", nonce},
                                              {"id_token", id_token},
                                              {"signature", posture::to_base64(sig.data(), sig.size())}});
    std::lock_guard lock(mu_);
    if (!r) {
        login->state = "failed";
        login->error = r.error().message;
        log_error("login", "%s", r.error().message.c_str());
        return;
    }
    const std::string* tok = r->string_at("session_token");
    const std::int64_t* exp = r->int_at("expires_at");
    if (!tok || !exp) {
        login->state = "failed";
        login->error = "the controller's sign-in answer lacks session_token or expires_at";
        return;
    }
    session_token_ = *tok;
    refresh_token_ = refresh_token;
    next_session_refresh_ = 0;
    session_expires_at_ = *exp;
    if (const std::string* s = r->string_at("session_id")) session_id_ = *s;
    if (const json::Value* u = r->find("user")) user_ = *u;
    phase_ = "signed_in";
    session_warned_ = false;
    refresh_requested_ = true;
    next_refresh_retry_ = 0;
    login->state = "done";
    (void)store_.put_state("session.token", session_token_);
    (void)store_.put_state("session.id", session_id_);
    (void)store_.put_state("session.expires_at", std::to_string(session_expires_at_));
    (void)store_.put_state("session.user", json::dump(user_));
    (void)store_.put_state("session.refresh_token", refresh_token_);
    const std::string* email = user_.string_at("email");
    log_info("login", "signed in as %s (session %s, until %lld)", email ? email->c_str() : "?", session_id_.c_str(), (long long)*exp);
    cv_.notify_all();
}

void Agent::refresh_session() {
    std::string refresh_token, session_id, token;
    {
        std::lock_guard lock(mu_);
        refresh_token = refresh_token_;
        session_id = session_id_;
        token = session_token_;
        next_session_refresh_ = deps_.now() + 60;  // one try a minute while it fails
    }
    const auto failed = [&](const std::string& why) {
        log_error("session", "could not extend the session (it ends as planned unless a later try works): %s", why.c_str());
    };
    OidcClient idp(settings_.oidc);
    auto ep = idp.discover();
    if (!ep) return failed(ep.error().message);
    auto t = idp.refresh(*ep, refresh_token);
    if (!t) return failed(t.error().message);
    auto nonce = challenge();
    if (!nonce) return failed(nonce.error().message);
    const auto sig = key_.sign("ztna-refresh-v1\n" + session_id + "\n" + *nonce + "\n" + sha256_hex_of(t->id_token));
    auto r = controller_.post_ok("session refresh", "/v1/sessions/refresh",
                                 json::Object{{"nonce", *nonce}, {"id_token", t->id_token},
                                              {"signature", posture::to_base64(sig.data(), sig.size())}},
                                 token);
    if (!r) return failed(r.error().message);
    const std::int64_t* exp = r->int_at("expires_at");
    if (!exp) return failed("the controller's answer has no expires_at");
    std::lock_guard lock(mu_);
    if (session_id_ != session_id) return;  // signed out meanwhile
    session_expires_at_ = *exp;
    session_warned_ = false;
    next_session_refresh_ = 0;
    if (!t->refresh_token.empty()) refresh_token_ = t->refresh_token;  // providers rotate them
    (void)store_.put_state("session.expires_at", std::to_string(*exp));
    (void)store_.put_state("session.refresh_token", refresh_token_);
    log_info("session", "session %s extended until %lld without a new sign-in", session_id.c_str(), (long long)*exp);
}

void Agent::cancel_login() {
    std::lock_guard lock(mu_);
    if (login_) login_->cancel = true;
}

Result<json::Value> Agent::logout(bool user_request) {
    if (user_request && settings_.locks.count("logout"))
        return fail("locked", "your organization does not allow signing out on this device (managed setting locks: [\"logout\"])");
    cancel_login();
    {
        std::lock_guard lock(mu_);
        if (phase_ != "signed_in") return json::Value(json::Object{{"phase", phase_}, {"changed", false}});
        events_.push_back({"logout", json::Object{}});
    }
    cv_.notify_all();
    return json::Value(json::Object{{"phase", "signing_out"}, {"changed", true}});
}

// ---- readers ----

json::Value Agent::status(bool with_login_links) {
    std::lock_guard lock(mu_);
    const std::int64_t now = deps_.now();
    json::Object s{{"version", kAgentVersion},
                   {"phase", phase_},
                   {"controller", json::Object{{"url", settings_.controller_url},
                                               {"reachable", controller_contacted_ ? json::Value(controller_reachable_) : json::Value()},
                                               {"last_contact", last_contact_},
                                               {"events_connected", events_connected_.load()}}},
                   {"device_id", device_id_},
                   {"interface", tunnels_.name()},
                   {"dns", settings_.dns_listen + ":" + std::to_string(settings_.dns_port)}};
    if (!last_error_.empty()) s["last_error"] = last_error_;
    if (!store_problem.empty()) s["store_problem"] = store_problem;
    if (phase_ == "signed_in") {
        json::Object sess{{"id", session_id_}, {"expires_at", session_expires_at_}, {"expires_in_s", session_expires_at_ - now}};
        if (const std::string* e = user_.string_at("email")) sess["email"] = *e;
        if (const json::Value* g = user_.find("groups")) sess["groups"] = *g;
        s["session"] = json::Value(sess);
    }
    if (login_) {
        json::Object l{{"state", login_->state}, {"device_flow", login_->device_flow}};
        // The link and code sign this device in as whoever follows them: for control callers only.
        if (with_login_links && !login_->url.empty()) l["url"] = login_->url;
        if (with_login_links && !login_->user_code.empty()) {
            l["user_code"] = login_->user_code;
            l["verification_uri"] = login_->verification_uri;
        }
        if (!login_->error.empty()) l["error"] = login_->error;
        s["login"] = json::Value(l);
    }
    int connected = 0, available = 0, blocked = 0;
    for (const auto& [n, a] : apps_) (a.grant ? connected : a.allowed ? available : blocked)++;
    s["apps"] = json::Object{{"connected", connected}, {"available", available}, {"blocked", blocked}};
    s["posture"] = json::Object{{"overall", posture_.empty() ? "unknown" : overall_of(posture_)},
                                {"collected_at", posture_at_},
                                {"valid_until", posture_valid_until_}};
    return s;
}

json::Value Agent::apps() {
    std::lock_guard lock(mu_);
    json::Array out;
    auto stats = tunnels_.stats();
    for (const auto& [n, a] : apps_) {
        json::Object o{{"name", n},
                       {"state", a.grant ? "connected" : a.allowed ? "available" : "blocked"},
                       {"dns", strings_json(a.dns)},
                       {"addresses", strings_json(a.addresses)},
                       {"ports", strings_json(a.ports)}};
        json::Array rs;
        for (const auto& r : a.reasons) rs.push_back(reason_json(r));
        o["reasons"] = json::Value(rs);
        if (!a.grant_error.empty() && !a.grant && a.allowed) o["error"] = a.grant_error;
        if (a.grant) {
            json::Object g{{"id", a.grant->id}, {"expires_at", a.grant->expires_at}, {"tunnel_address", a.grant->tunnel_address},
                           {"gateway", a.grant->gateway_id}};
            if (auto it = stats.find(a.grant->id); it != stats.end()) {
                g["last_handshake"] = it->second.last_handshake_sec;
                g["rx_bytes"] = std::int64_t(it->second.rx_bytes);
                g["tx_bytes"] = std::int64_t(it->second.tx_bytes);
            }
            o["grant"] = json::Value(g);
        }
        out.push_back(json::Value(o));
    }
    return json::Object{{"apps", json::Value(out)}};
}

json::Value Agent::posture(int limit) {
    json::Object out;
    {
        std::lock_guard lock(mu_);
        json::Array rs;
        for (const auto& r : posture_) rs.push_back(posture::to_json(r));
        out["collected_at"] = posture_at_;
        out["results"] = json::Value(rs);
        out["valid_until"] = posture_valid_until_;
    }
    json::Array hist;
    if (auto h = store_.recent_posture(std::size_t(std::max(limit, 0))))
        for (const auto& row : *h) hist.push_back(json::Object{{"at", row.at}, {"overall", row.overall}});
    out["history"] = json::Value(hist);
    return out;
}

json::Value Agent::logs(int limit, std::int64_t since) {
    json::Array out;
    auto rows = store_.recent_access(std::size_t(std::max(limit, 1)), since);
    if (rows)
        for (const auto& r : *rows)
            out.push_back(json::Object{{"at", r.at}, {"app", r.app}, {"outcome", r.outcome}, {"reason", r.reason}, {"message", r.message}});
    json::Object o{{"entries", json::Value(out)}};
    if (!rows) o["error"] = rows.error().message;
    return o;
}

dns::Answer Agent::lookup(const std::string& name) {
    std::lock_guard lock(mu_);
    for (const auto& [n, a] : apps_) {
        if (std::find(a.dns.begin(), a.dns.end(), name) == a.dns.end()) continue;
        dns::Answer ans;
        // Only an open tunnel gets an answer: the address of an app whose tunnel is
        // not open (expired, failed, not yet open) would send its traffic out by
        // the default route, in the clear.
        if (a.allowed && a.grant) {
            ans.kind = dns::Answer::Kind::Granted;
            // The open tunnel's addresses (what is routed into it), not the latest
            // decision's: a changed policy gets a new grant before a new answer.
            for (const auto& p : a.grant->addresses) {
                const auto slash = p.find('/');
                const std::string len = slash == std::string::npos ? "" : p.substr(slash + 1);
                if (len == "32" || len == "128") ans.addresses.push_back(p.substr(0, slash));
            }
            return ans;
        }
        ans.kind = dns::Answer::Kind::Blocked;
        const std::int64_t now = deps_.now();
        if (now - dns_denied_logged_[n] >= 60) {  // one line a minute per app, not one per query
            dns_denied_logged_[n] = now;
            const Reason r = a.allowed ? Reason{"not_connected", a.grant_error.empty() ? "its micro-tunnel is not open yet" : a.grant_error, ""}
                         : a.reasons.empty() ? Reason{"blocked", "blocked", ""} : a.reasons.front();
            (void)store_.log_access({0, now, n, "dns_refused", r.code, name + ": " + r.message});
        }
        return ans;
    }
    return {};
}

}  // namespace ztna::agent
