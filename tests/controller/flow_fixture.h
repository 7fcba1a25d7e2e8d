// A controller with a test identity provider, and an agent that enrolls,
// signs in and reports posture over real HTTPS: shared by the controller's
// flow tests and the gateway's end-to-end test.
#pragma once

#include <doctest/doctest.h>
#include <httplib.h>
#include <sodium.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "admin_init.h"
#include "control_plane.h"
#include "enrollment.h"
#include "posture_report.h"
#include "server.h"
#include "sqlite_store.h"
#include "test_dir.h"
#include "test_idp.h"
#include "tokens.h"

namespace flow {

using namespace ztna;
using namespace ztna::controller;
using ztna::posture::CheckResult;

inline const char* const kPolicyTemplate = R"({
  "version": 1,
  "settings": {"grant_ttl_s": 120, "posture_max_age_s": 120},
  "gateways": [{"id": "gw1", "endpoint": "10.99.0.2:51820",
                "public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "tunnel_network": "100.64.0.0/24"}],
  "apps": [
    {"name": "hr", "dns": ["hr.corp.test"], "addresses": ["10.20.0.10/32"], "ports": ["tcp/80"], "gateway": "gw1"},
    {"name": "accounting", "dns": ["accounting.corp.test"], "addresses": ["10.20.0.12/32"], "ports": ["tcp/80"], "gateway": "gw1"}
  ],
  "rules": [
    {"name": "hr-staff", "groups": ["HRGROUP"], "apps": ["hr"], "posture": ["disk_encryption"]},
    {"name": "finance", "groups": ["finance"], "apps": ["accounting"]}
  ]
}
)";

inline std::string policy_for(const std::string& hr_group) {
    std::string p = kPolicyTemplate;
    p.replace(p.find("HRGROUP"), 7, hr_group);
    return p;
}

struct World {
    TestDir dir;
    std::unique_ptr<TestIdp> idp;
    TestKey idp_key = TestKey::rsa("k1");
    std::string ctl_dir, gateway_token, admin_token;
    ControllerConfig config;
    std::unique_ptr<SqliteStore> store;
    std::unique_ptr<ControlPlane> control;
    std::unique_ptr<ControllerServer> server;
    std::shared_ptr<std::atomic<std::int64_t>> clock_offset = std::make_shared<std::atomic<std::int64_t>>(0);  // moves the controller's clock

    // listen: the address the controller serves on (and its certificate names);
    // policy: the policy text (the hr/accounting example by default).
    explicit World(const std::string& listen = "127.0.0.1", const std::string& policy = {}) {
        REQUIRE(sodium_init() >= 0);
        idp = std::make_unique<TestIdp>(dir.path);
        idp->set_keys({idp_key});
        ctl_dir = dir / "ctl";
        InitOptions o;
        o.dir = ctl_dir;
        o.names = {listen};
        o.gateways = {"gw1"};
        auto init = init_controller_dir(o);
        REQUIRE_MESSAGE(init, init.error().message);
        gateway_token = read_file(init->gateway_token_paths.at(0));
        gateway_token.pop_back();
        admin_token = read_file(init->admin_token_path);
        admin_token.pop_back();
        REQUIRE(write_file(init->policy_path, policy.empty() ? policy_for("hr") : policy));
        auto c = load_controller_config(init->config_path);
        REQUIRE_MESSAGE(c, c.error().message);
        config = *c;
        config.listen_address = listen;
        config.listen_port = 0;
        oidc::IssuerConfig ic;
        ic.issuer = idp->issuer();
        ic.client_ids = {"ztna-agent"};
        ic.ca_certificate = idp->ca_file();
        config.oidc_issuers = {ic};
        start();
    }

    void start() {
        auto s = SqliteStore::open(config.database);
        REQUIRE_MESSAGE(s, s.error().message);
        store = std::move(*s);
        auto policy = load_policy_file(config.policy);
        REQUIRE_MESSAGE(policy, policy.error().message);
        control = std::make_unique<ControlPlane>(config, *store, std::move(*policy),
                                                 [off = clock_offset] { return system_clock_seconds() + off->load(); });
        server = std::make_unique<ControllerServer>(config, *store, *control);
        server->housekeeping_interval = std::chrono::milliseconds(100);
        server->keepalive_interval = std::chrono::milliseconds(100);
        auto r = server->start();
        REQUIRE_MESSAGE(r, r.error().message);
    }
    void stop() {
        server.reset();
        control.reset();
        store.reset();
    }

    std::pair<int, json::Value> call(const std::string& method, const std::string& path, const json::Value* body,
                                     const std::string& bearer) {
        httplib::SSLClient cli(config.listen_address, server->port());
        cli.set_ca_cert_path((ctl_dir + "/ca.pem").c_str());
        cli.enable_server_certificate_verification(true);
        httplib::Headers h;
        if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
        auto r = method == "GET" ? cli.Get(path, h) : cli.Post(path, h, body ? json::dump(*body) : "{}", "application/json");
        REQUIRE_MESSAGE(r, httplib::to_string(r.error()));
        auto v = json::parse(r->body);
        REQUIRE_MESSAGE(v, r->body);
        return {r->status, *v};
    }
    std::pair<int, json::Value> post(const std::string& path, const json::Value& body, const std::string& bearer = {}) {
        return call("POST", path, &body, bearer);
    }
};

struct Agent {
    World& w;
    posture::DeviceSigningKey key = posture::DeviceSigningKey::generate();
    std::string device_id, session;

    explicit Agent(World& world) : w(world) {}

    std::string public_b64() const { return posture::to_base64(key.public_key().data(), 32); }
    std::string sign(const std::string& m) const {
        auto s = key.sign(m);
        return posture::to_base64(s.data(), s.size());
    }
    void enroll() {
        auto [st, tok] = w.post("/v1/admin/enrollment-tokens", json::Object{{"ttl_s", 600}}, w.admin_token);
        REQUIRE(st == 201);
        const std::string token = *tok.string_at("token");
        json::Object b{{"token", token}, {"public_key", public_b64()}, {"hostname", "laptop"}, {"platform", "linux"},
                       {"proof", sign(enrollment_proof_message(public_b64(), token))}};
        auto [s2, r] = w.post("/v1/enroll", b);
        REQUIRE(s2 == 201);
        device_id = *r.string_at("device_id");
    }
    std::string nonce() {
        auto [st, r] = w.post("/v1/challenge", json::Object{{"device_id", device_id}});
        REQUIRE(st == 200);
        return *r.string_at("nonce");
    }
    std::pair<int, json::Value> sign_in(const std::vector<std::string>& groups, const std::string& sub = "alice") {
        const std::string n = nonce();
        const std::int64_t now = system_clock_seconds();
        json::Array g;
        for (const auto& x : groups) g.push_back(x);
        json::Object claims{{"iss", w.idp->issuer()}, {"sub", sub}, {"aud", "ztna-agent"}, {"exp", now + 600}, {"iat", now},
                            {"nonce", n}, {"email", sub + "@corp.test"}, {"groups", json::Value(g)}, {"amr", json::Array{"pwd"}}};
        const std::string id_token = sign_jwt(w.idp_key, json::Value(claims));
        auto r = w.post("/v1/sessions", json::Object{{"device_id", device_id}, {"nonce", n}, {"id_token", id_token},
                                                     {"signature", sign("ztna-session-v1\n" + n + "\n" + sha256_hex(id_token))}});
        if (r.first == 201) session = *r.second.string_at("session_token");
        return r;
    }
    json::Value report(bool disk_ok, std::string nonce_text = {}, std::int64_t collected_at = 0) {
        if (nonce_text.empty()) nonce_text = nonce();
        std::vector<CheckResult> results = {
            disk_ok ? CheckResult::pass("disk_encryption", "The system disk is encrypted.")
                    : CheckResult::fail("disk_encryption", "The system disk is not encrypted.", "Encrypt the disk."),
            CheckResult::pass("firewall", "Incoming connections are filtered.")};
        posture::ReportContext ctx{device_id, "0.1.0", nonce_text};
        const auto body = posture::report_body(results, ctx, posture::Platform::Linux,
                                               collected_at ? collected_at : system_clock_seconds());
        return json::parse(posture::sign_report(body, key)).value();
    }
    std::pair<int, json::Value> access(const json::Value& rep) { return w.post("/v1/access", json::Object{{"report", rep}}, session); }
};

}  // namespace flow
