// The whole agent-facing flow over real HTTPS, with a test IdP serving its
// JWKS over HTTPS: enroll, sign in with an ID token bound to a controller
// nonce, send signed posture, get decisions and a grant, watch the agent's and
// the gateway's event streams; then revoke by disabling the user, by a failing
// posture report, by a policy change, and by expiry; posture reports that are
// tampered, replayed or stale are refused; a restart keeps live grants.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sodium.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "admin_init.h"
#include "control_plane.h"
#include "enrollment.h"
#include "posture_report.h"
#include "server.h"
#include "sqlite_store.h"
#include "test_dir.h"
#include "test_idp.h"
#include "tokens.h"
#include "flow_fixture.h"
#include "ztna/sse.h"
#include "policy.h"

using namespace ztna;
using namespace ztna::controller;
using ztna::posture::CheckResult;

using namespace flow;

namespace {

std::string random_wg_key() {
    unsigned char k[32];
    randombytes_buf(k, sizeof k);
    return posture::to_base64(k, sizeof k);
}

// Reads a server-sent event stream on a thread; events are kept in order.
class EventStream {
public:
    EventStream(int port, const std::string& ca, const std::string& path, const std::string& bearer) {
        thread_ = std::thread([=, this] {
            httplib::SSLClient cli("127.0.0.1", port);
            cli.set_ca_cert_path(ca.c_str());
            cli.enable_server_certificate_verification(true);
            cli.set_read_timeout(30, 0);
            ztna::SseParser sse;
            cli.Get(path, {{"Authorization", "Bearer " + bearer}}, [&](const char* d, std::size_t n) {
                sse.feed(std::string_view(d, n), [&](const ztna::SseEvent& e) {
                    std::lock_guard lock(mu_);
                    events_.emplace_back(e.type, e.data);
                    cv_.notify_all();
                });
                return !stop_;
            });
            std::lock_guard lock(mu_);
            ended_ = true;
            cv_.notify_all();
        });
    }
    ~EventStream() {
        stop_ = true;
        thread_.join();
    }
    // Waits up to timeout for an event of this type (after `from` events) and returns its data.
    std::optional<json::Value> wait_for(const std::string& type, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mu_);
        std::optional<json::Value> found;
        cv_.wait_for(lock, timeout, [&] {
            for (std::size_t i = seen_; i < events_.size(); ++i)
                if (events_[i].first == type) {
                    found = json::parse(events_[i].second).value();
                    seen_ = i + 1;
                    return true;
                }
            return ended_;
        });
        return found;
    }

private:
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::pair<std::string, std::string>> events_;
    std::size_t seen_ = 0;
    bool ended_ = false;
    std::atomic<bool> stop_{false};
};

const json::Value* app_in(const json::Value& access, const std::string& name) {
    for (const auto& a : *access.array_at("apps"))
        if (*a.string_at("name") == name) return &a;
    return nullptr;
}

std::string pct(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_') out += char(c);
        else out += {'%', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

std::string code(const json::Value& v) {
    const json::Value* e = v.find("error");
    return e && e->string_at("code") ? *e->string_at("code") : "(none)";
}

}  // namespace

TEST_CASE("flow: sign in, posture, decisions with reasons, a grant on the gateway, revoked when the user is disabled") {
    World w;
    Agent a(w);
    a.enroll();
    auto [ss, signin] = a.sign_in({"hr"});
    REQUIRE_MESSAGE(ss == 201, json::dump(signin));
    CHECK(*signin.find("user")->string_at("email") == "alice@corp.test");

    auto [sa, acc] = a.access(a.report(true));
    REQUIRE_MESSAGE(sa == 200, json::dump(acc));
    REQUIRE(app_in(acc, "hr"));
    CHECK(*app_in(acc, "hr")->bool_at("allowed"));
    CHECK(!*app_in(acc, "accounting")->bool_at("allowed"));
    CHECK(*(*app_in(acc, "accounting")->array_at("reasons"))[0].string_at("code") == "group_missing");

    EventStream agent_events(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/events", a.session);
    EventStream gw_events(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/gateway/events", w.gateway_token);
    REQUIRE(agent_events.wait_for("hello"));
    REQUIRE(gw_events.wait_for("hello"));

    const std::string wg = random_wg_key();
    auto [sg, grant] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", wg}}, a.session);
    REQUIRE_MESSAGE(sg == 201, json::dump(grant));
    CHECK(*grant.string_at("tunnel_address") == "100.64.0.2/32");
    CHECK(*grant.find("gateway")->string_at("endpoint") == "10.99.0.2:51820");
    CHECK(*grant.array_at("addresses") == json::Array{"10.20.0.10/32"});
    auto added = gw_events.wait_for("grant_added");
    REQUIRE(added);
    CHECK(*added->string_at("agent_public_key") == wg);
    auto [sl, list] = w.call("GET", "/v1/gateway/grants", nullptr, w.gateway_token);
    REQUIRE(sl == 200);
    CHECK(list.array_at("grants")->size() == 1);

    auto [sd, denied] = w.post("/v1/grants", json::Object{{"app", "accounting"}, {"public_key", random_wg_key()}}, a.session);
    CHECK(sd == 403);
    CHECK(code(denied) == "group_missing");

    auto [su, dis] = w.post("/v1/admin/users/" + pct("alice@corp.test") + "/disable", json::Object{}, w.admin_token);
    REQUIRE_MESSAGE(su == 200, json::dump(dis));
    auto revoked = agent_events.wait_for("grant_revoked");
    REQUIRE(revoked);
    CHECK(*revoked->string_at("reason") == "user_disabled");
    CHECK(*revoked->string_at("remediation") == "Contact your IT helpdesk.");
    auto removed = gw_events.wait_for("grant_removed");
    REQUIRE(removed);
    CHECK(*removed->string_at("grant_id") == *grant.string_at("id"));
    auto [sl2, list2] = w.call("GET", "/v1/gateway/grants", nullptr, w.gateway_token);
    CHECK(list2.array_at("grants")->empty());
    // A disabled user gets no new grant, and cannot sign in again.
    auto [sn, again] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    CHECK(sn == 403);
    CHECK(code(again) == "user_disabled");
    CHECK(a.sign_in({"hr"}).first == 403);

    auto [sq, audit] = w.call("GET", "/v1/admin/audit?user=" + pct(w.idp->issuer() + "|alice"), nullptr, w.admin_token);
    REQUIRE(sq == 200);
    std::string kinds;
    for (const auto& e : *audit.array_at("events")) kinds += *e.string_at("kind") + " ";
    CHECK(kinds.find("sign_in") != std::string::npos);
    CHECK(kinds.find("grant_created") != std::string::npos);
    CHECK(kinds.find("grant_ended") != std::string::npos);
}

TEST_CASE("flow: a failing posture report, a policy change and a revoked device each end the grant") {
    World w;
    Agent a(w);
    a.enroll();
    REQUIRE(a.sign_in({"hr"}).first == 201);
    REQUIRE(a.access(a.report(true)).first == 200);
    EventStream events(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/events", a.session);
    EventStream gw(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/gateway/events", w.gateway_token);
    REQUIRE(events.wait_for("hello"));
    REQUIRE(gw.wait_for("hello"));
    // Every revocation below reaches the gateway's stream too.
    const auto gateway_removed = [&](const std::string& reason) {
        auto e = gw.wait_for("grant_removed");
        REQUIRE(e);
        CHECK(*e->string_at("reason") == reason);
    };

    auto [s1, g1] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    REQUIRE(s1 == 201);
    auto [s2, acc] = a.access(a.report(false));
    REQUIRE(s2 == 200);
    CHECK(*(*app_in(acc, "hr")->array_at("reasons"))[0].string_at("code") == "posture_failed");
    CHECK(*(*app_in(acc, "hr")->array_at("reasons"))[0].string_at("remediation") == "Encrypt the disk.");
    auto r1 = events.wait_for("grant_revoked");
    REQUIRE(r1);
    CHECK(*r1->string_at("reason") == "posture_failed");
    CHECK(*r1->string_at("remediation") == "Encrypt the disk.");
    gateway_removed("posture_failed");

    // The policy file changes: the hr rule now names another group.
    REQUIRE(a.access(a.report(true)).first == 200);
    auto [s3, g2] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    REQUIRE(s3 == 201);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a distinct file time stamp
    REQUIRE(write_file(w.config.policy, policy_for("hr-admins")));
    auto r2 = events.wait_for("grant_revoked");
    REQUIRE(r2);
    CHECK(*r2->string_at("reason") == "group_missing");
    gateway_removed("group_missing");
    // An invalid policy file keeps the previous one in force.
    REQUIRE(write_file(w.config.policy, "{\"version\": 1, \"apps\": ["));
    const auto audited = [&](const std::string& kind) {
        for (int i = 0; i < 100; ++i) {
            auto [s, audit] = w.call("GET", "/v1/admin/audit", nullptr, w.admin_token);
            if (s == 200 && json::dump(audit).find("\"" + kind + "\"") != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    };
    REQUIRE(audited("policy_rejected"));  // the reload ran, and refused the file
    CHECK(w.control->policy().rules[0].groups == std::vector<std::string>{"hr-admins"});
    REQUIRE(write_file(w.config.policy, policy_for("hr")));
    for (int i = 0; i < 100 && w.control->policy().rules[0].groups != std::vector<std::string>{"hr"}; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(w.control->policy().rules[0].groups == std::vector<std::string>{"hr"});

    REQUIRE(a.access(a.report(true)).first == 200);
    auto [s4, g3] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    REQUIRE(s4 == 201);
    REQUIRE(w.post("/v1/admin/devices/" + a.device_id + "/revoke", json::Object{}, w.admin_token).first == 200);
    auto r3 = events.wait_for("grant_revoked");
    REQUIRE(r3);
    CHECK(*r3->string_at("reason") == "device_revoked");
    gateway_removed("device_revoked");
}

TEST_CASE("flow: tampered, replayed, stale and foreign posture reports are refused") {
    World w;
    Agent a(w), other(w);
    a.enroll();
    other.enroll();
    REQUIRE(a.sign_in({"hr"}).first == 201);

    auto good = a.report(false);
    auto tampered = good;
    tampered.as_object()["report"].as_object()["results"].as_array()[0].as_object()["status"] = "pass";
    auto [s1, r1] = a.access(tampered);
    CHECK(s1 == 400);
    CHECK(code(r1) == "report_invalid");

    auto fresh = a.report(true);
    REQUIRE(a.access(fresh).first == 200);
    auto [s2, r2] = a.access(fresh);  // the same report again: its nonce was used
    CHECK(s2 == 401);
    CHECK(code(r2) == "challenge_invalid");

    auto [s3, r3] = a.access(a.report(true, {}, system_clock_seconds() - 3600));
    CHECK(s3 == 400);
    CHECK(code(r3) == "report_invalid");

    // A report signed by another device, over a nonce of this one.
    auto foreign = other.report(true, a.nonce());
    auto [s4, r4] = a.access(foreign);
    CHECK(s4 == 400);

    auto [s5, r5] = a.access(a.report(true, "made-up-nonce"));
    CHECK(s5 == 401);
    CHECK(code(r5) == "challenge_invalid");
    auto [s6, r6] = w.post("/v1/access", json::Object{{"report", fresh}}, "ztna-session-guess");
    CHECK(s6 == 401);
    CHECK(code(r6) == "signed_out");
}

TEST_CASE("flow: sign-in refusals: another device's key, a reused nonce, a foreign issuer") {
    World w;
    Agent a(w), b(w);
    a.enroll();
    b.enroll();
    const std::string n = a.nonce();
    const std::int64_t now = system_clock_seconds();
    json::Object claims{{"iss", w.idp->issuer()}, {"sub", "alice"}, {"aud", "ztna-agent"}, {"exp", now + 600}, {"iat", now}, {"nonce", n}};
    const std::string t = sign_jwt(w.idp_key, json::Value(claims));
    auto [s1, r1] = w.post("/v1/sessions", json::Object{{"device_id", a.device_id}, {"nonce", n}, {"id_token", t},
                                                        {"signature", b.sign("ztna-session-v1\n" + n + "\n" + sha256_hex(t))}});
    CHECK(s1 == 401);
    CHECK(code(r1) == "bad_proof");
    auto [s2, r2] = w.post("/v1/sessions", json::Object{{"device_id", a.device_id}, {"nonce", n}, {"id_token", t},
                                                        {"signature", a.sign("ztna-session-v1\n" + n + "\n" + sha256_hex(t))}});
    CHECK(s2 == 401);
    CHECK(code(r2) == "challenge_invalid");  // the nonce was spent by the refused attempt

    const std::string n2 = a.nonce();
    TestKey rogue = TestKey::rsa("k1");
    json::Object evil{{"iss", "https://evil.test"}, {"sub", "alice"}, {"aud", "ztna-agent"}, {"exp", now + 600}, {"iat", now}, {"nonce", n2}};
    const std::string t2 = sign_jwt(rogue, json::Value(evil));
    auto [s3, r3] = w.post("/v1/sessions", json::Object{{"device_id", a.device_id}, {"nonce", n2}, {"id_token", t2},
                                                        {"signature", a.sign("ztna-session-v1\n" + n2 + "\n" + sha256_hex(t2))}});
    CHECK(s3 == 401);
    CHECK(code(r3) == "wrong_issuer");
}

TEST_CASE("flow: a controller restart keeps live grants; logout ends them") {
    World w;
    Agent a(w);
    a.enroll();
    REQUIRE(a.sign_in({"hr"}).first == 201);
    REQUIRE(a.access(a.report(true)).first == 200);
    auto [s1, g] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    REQUIRE(s1 == 201);
    w.stop();
    w.start();
    auto [s2, list] = w.call("GET", "/v1/gateway/grants", nullptr, w.gateway_token);
    REQUIRE(s2 == 200);
    REQUIRE(list.array_at("grants")->size() == 1);
    CHECK(*(*list.array_at("grants"))[0].string_at("id") == *g.string_at("id"));
    // The session survives too; posture must be reported again before a renewal.
    auto [s3, r3] = w.post("/v1/grants/" + *g.string_at("id") + "/renew", json::Object{}, a.session);
    CHECK(s3 == 403);
    CHECK(code(r3) == "posture_missing");
    REQUIRE(a.access(a.report(true)).first == 200);
    auto [s4, g2] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    REQUIRE(s4 == 201);
    auto [s5, r5] = w.post("/v1/grants/" + *g2.string_at("id") + "/renew", json::Object{}, a.session);
    CHECK(s5 == 200);
    REQUIRE(w.post("/v1/sessions/logout", json::Object{}, a.session).first == 200);
    auto [s6, list2] = w.call("GET", "/v1/gateway/grants", nullptr, w.gateway_token);
    CHECK(list2.array_at("grants")->empty());
    CHECK(w.post("/v1/access", json::Object{{"report", a.report(true)}}, a.session).first == 401);
}

TEST_CASE("flow: an app removed from the policy ends its grants; a user is disabled by subject; event streams are capped") {
    World w;
    Agent a(w);
    a.enroll();
    auto [ss, signin] = a.sign_in({"hr"});
    REQUIRE(ss == 201);
    REQUIRE(a.access(a.report(true)).first == 200);
    EventStream gw(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/gateway/events", w.gateway_token);
    REQUIRE(gw.wait_for("hello"));
    auto [s1, g] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", random_wg_key()}}, a.session);
    REQUIRE(s1 == 201);
    REQUIRE(gw.wait_for("grant_added"));
    std::string without_hr = policy_for("hr");
    without_hr.replace(without_hr.find("{\"name\": \"hr\", \"dns\""), 0, "");
    const auto from = without_hr.find("    {\"name\": \"hr\", \"dns\"");
    without_hr.erase(from, without_hr.find("\n", from) + 1 - from);
    const auto rule = without_hr.find("    {\"name\": \"hr-staff\"");
    without_hr.erase(rule, without_hr.find("\n", rule) + 1 - rule);
    REQUIRE(parse_policy(without_hr, "p"));
    REQUIRE(write_file(w.config.policy, without_hr));
    auto removed = gw.wait_for("grant_removed");
    REQUIRE(removed);
    CHECK(*removed->string_at("reason") == "app_removed");

    // Disable by subject (it holds "/" and ":"), as ztna-admin would send it.
    const std::string subject = *signin.find("user")->string_at("subject");
    auto [s2, r2] = w.post("/v1/admin/users/" + pct(subject) + "/disable", json::Object{}, w.admin_token);
    CHECK(s2 == 200);
    CHECK(*r2.string_at("state") == "disabled");

    // At most two event streams per session; the third is refused, and the API still answers.
    REQUIRE(a.sign_in({"finance"}, "bob").first == 201);
    EventStream e1(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/events", a.session);
    EventStream e2(w.server->port(), w.ctl_dir + "/ca.pem", "/v1/events", a.session);
    REQUIRE(e1.wait_for("hello"));
    REQUIRE(e2.wait_for("hello"));
    auto [s3, r3] = w.call("GET", "/v1/events", nullptr, a.session);
    CHECK(s3 == 503);
    CHECK(code(r3) == "busy");
    auto [s4, r4] = w.call("GET", "/v1/health", nullptr, "");
    CHECK(s4 == 200);
    // Logout closes the session's streams.
    REQUIRE(w.post("/v1/sessions/logout", json::Object{}, a.session).first == 200);
    CHECK(e1.wait_for("session_ended"));
}

TEST_CASE("flow: a session is refreshed with a fresh ID token of the same user, signed by the device") {
    World w;
    Agent a(w);
    a.enroll();
    auto [st, signin] = a.sign_in({"hr", "staff"});
    REQUIRE(st == 201);
    const std::int64_t first_expiry = *signin.int_at("expires_at");
    const std::string sid = *signin.string_at("session_id");
    const auto token_for = [&](const std::string& sub, const json::Value& nonce) {
        const std::int64_t now = system_clock_seconds();
        json::Object c{{"iss", w.idp->issuer()}, {"sub", sub}, {"aud", "ztna-agent"}, {"exp", now + 600}, {"iat", now},
                       {"email", sub + "@corp.test"}, {"groups", json::Array{"hr"}}, {"amr", json::Array{"pwd"}}};
        if (!nonce.is_null()) c["nonce"] = nonce;
        return sign_jwt(w.idp_key, json::Value(c));
    };
    const auto refresh = [&](const std::string& id_token, const std::string& session_id_signed) {
        const std::string n = a.nonce();
        return w.post("/v1/sessions/refresh",
                      json::Object{{"nonce", n}, {"id_token", id_token},
                                   {"signature", a.sign("ztna-refresh-v1\n" + session_id_signed + "\n" + n + "\n" + sha256_hex(id_token))}},
                      a.session);
    };
    // The refreshed token repeats the original sign-in's nonce (spent): fine for a refresh.
    *w.clock_offset = 5;  // the controller's clock moves on 5 s
    auto [s1, r1] = refresh(token_for("alice", json::Value("the-original-nonce")), sid);
    REQUIRE_MESSAGE(s1 == 200, json::dump(r1));
    CHECK(*r1.int_at("expires_at") >= first_expiry + 5);
    // Another user's token, a signature over another session, a missing signature: refused.
    CHECK(refresh(token_for("mallory", json::Value()), sid).second.find("error")->string_at("code")->compare("wrong_user") == 0);
    CHECK(refresh(token_for("alice", json::Value()), "ses_0000000000000000").first == 401);
    CHECK(w.post("/v1/sessions/refresh", json::Object{{"nonce", "x"}}, a.session).first == 400);
    CHECK(w.post("/v1/sessions/refresh", json::Object{}, "ztna-session-bogus").first == 401);
    // A disabled user cannot extend the session.
    REQUIRE(w.post("/v1/admin/users/alice@corp.test/disable", json::Object{}, w.admin_token).first == 200);
    CHECK(refresh(token_for("alice", json::Value()), sid).first == 403);
    auto [sa, audit] = w.call("GET", "/v1/admin/audit?user=alice@corp.test", nullptr, w.admin_token);
    REQUIRE(sa == 200);
    CHECK(json::dump(audit).find("session_refreshed") != std::string::npos);
}
