// The controller's API over real HTTPS on loopback: a controller made by
// `ztna-admin init` code, a client that pins its CA, and a fake clock.
// Enrollment (success, token reuse, expired, revoked, wrong key, bad key),
// the admin credential, and hostile requests that must get a 4xx and leave
// the server serving.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "admin_init.h"
#include "enrollment.h"
#include "control_plane.h"
#include "server.h"
#include "sqlite_store.h"
#include "test_dir.h"

using namespace ztna;
using namespace ztna::controller;

namespace {

std::string b64(const unsigned char* p, std::size_t n) {
    std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

struct DeviceKey {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    DeviceKey() { crypto_sign_keypair(pk, sk); }
    ~DeviceKey() { sodium_memzero(sk, sizeof sk); }
    std::string public_b64() const { return b64(pk, sizeof pk); }
    std::string sign(const std::string& m) const {
        unsigned char sig[crypto_sign_BYTES];
        crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(), sk);
        return b64(sig, sizeof sig);
    }
};

// A running controller in a temporary directory.
struct Controller {
    TestDir dir;
    std::atomic<std::int64_t> now{1'800'000'000};
    std::unique_ptr<SqliteStore> store;
    std::unique_ptr<ControlPlane> control;
    std::unique_ptr<ControllerServer> server;
    std::string admin_token;

    Controller() {
        REQUIRE(sodium_init() >= 0);
        InitOptions o;
        o.dir = dir / "ctl";
        o.names = {"127.0.0.1", "localhost"};
        auto init = init_controller_dir(o);
        REQUIRE_MESSAGE(init, init.error().message);
        admin_token = read_file(init->admin_token_path);
        while (!admin_token.empty() && admin_token.back() == '\n') admin_token.pop_back();
        auto config = load_controller_config(init->config_path);
        REQUIRE_MESSAGE(config, config.error().message);
        config->listen_address = "127.0.0.1";
        config->listen_port = 0;
        auto s = SqliteStore::open(config->database);
        REQUIRE_MESSAGE(s, s.error().message);
        store = std::move(*s);
        auto policy = load_policy_file(config->policy);
        REQUIRE_MESSAGE(policy, policy.error().message);
        control = std::make_unique<ControlPlane>(*config, *store, std::move(*policy), [this] { return now.load(); });
        server = std::make_unique<ControllerServer>(*config, *store, *control);
        auto r = server->start();
        REQUIRE_MESSAGE(r, r.error().message);
    }

    std::unique_ptr<httplib::SSLClient> client() const {
        auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server->port());
        c->set_ca_cert_path((dir.path + "/ctl/ca.pem").c_str());
        c->enable_server_certificate_verification(true);
        c->set_read_timeout(10, 0);
        return c;
    }

    // POST with a JSON body; returns {status, parsed body}.
    std::pair<int, json::Value> post(const std::string& path, const std::string& body, bool as_admin = false) const {
        auto c = client();
        httplib::Headers h;
        if (as_admin) h.emplace("Authorization", "Bearer " + admin_token);
        auto r = c->Post(path, h, body, "application/json");
        REQUIRE_MESSAGE(r, httplib::to_string(r.error()));
        auto v = json::parse(r->body);
        REQUIRE_MESSAGE(v, (std::string("not JSON: ") + r->body));
        return {r->status, std::move(*v)};
    }
    std::pair<int, json::Value> get(const std::string& path, bool as_admin = true) const {
        auto c = client();
        httplib::Headers h;
        if (as_admin) h.emplace("Authorization", "Bearer " + admin_token);
        auto r = c->Get(path, h);
        REQUIRE_MESSAGE(r, httplib::to_string(r.error()));
        auto v = json::parse(r->body);
        REQUIRE_MESSAGE(v, (std::string("not JSON: ") + r->body));
        return {r->status, std::move(*v)};
    }

    std::string new_token(std::int64_t ttl = 3600) const {
        auto [status, body] = post("/v1/admin/enrollment-tokens", "{\"ttl_s\":" + std::to_string(ttl) + ",\"label\":\"t\"}", true);
        REQUIRE(status == 201);
        REQUIRE(body.string_at("token"));
        return *body.string_at("token");
    }
};

std::string enroll_body(const std::string& token, const DeviceKey& key, const DeviceKey& signer, const std::string& host = "laptop-1") {
    json::Object o;
    o["token"] = token;
    o["public_key"] = key.public_b64();
    o["proof"] = signer.sign(enrollment_proof_message(key.public_b64(), token));
    o["hostname"] = host;
    o["platform"] = "linux";
    return json::dump(json::Value(std::move(o)));
}

std::string error_code(const json::Value& v) {
    const json::Value* e = v.find("error");
    const std::string* c = e ? e->string_at("code") : nullptr;
    return c ? *c : "(no error code)";
}

}  // namespace

TEST_CASE("api: a device enrolls with a token once; reuse, expiry and revocation are refused") {
    Controller c;
    DeviceKey key;
    const std::string token = c.new_token(600);
    auto [status, body] = c.post("/v1/enroll", enroll_body(token, key, key));
    CHECK(status == 201);
    REQUIRE(body.string_at("device_id"));
    const std::string device_id = *body.string_at("device_id");
    CHECK(device_id.rfind("dev_", 0) == 0);

    DeviceKey second;
    auto [s2, b2] = c.post("/v1/enroll", enroll_body(token, second, second, "laptop-2"));
    CHECK(s2 == 401);
    CHECK(error_code(b2) == "token_used");
    REQUIRE(b2.find("error")->string_at("remediation"));

    const std::string short_lived = c.new_token(60);
    c.now += 61;
    auto [s3, b3] = c.post("/v1/enroll", enroll_body(short_lived, second, second));
    CHECK(s3 == 401);
    CHECK(error_code(b3) == "token_expired");

    const std::string revoked = c.new_token();
    auto [sl, list] = c.get("/v1/admin/enrollment-tokens");
    REQUIRE(sl == 200);
    std::string revoked_id;
    for (const auto& t : *list.array_at("tokens"))
        if (*t.string_at("state") == "active") revoked_id = *t.string_at("id");
    REQUIRE(!revoked_id.empty());
    auto [sr, br] = c.post("/v1/admin/enrollment-tokens/" + revoked_id + "/revoke", "", true);
    CHECK(sr == 200);
    auto [s4, b4] = c.post("/v1/enroll", enroll_body(revoked, second, second));
    CHECK(s4 == 401);
    CHECK(error_code(b4) == "token_revoked");

    auto [s5, b5] = c.post("/v1/enroll", enroll_body("ztna-enroll-made-up", second, second));
    CHECK(s5 == 401);
    CHECK(error_code(b5) == "token_unknown");

    // The listing shows the device, and the audit log the enrollment.
    auto [sd, devices] = c.get("/v1/admin/devices");
    REQUIRE(sd == 200);
    REQUIRE(devices.array_at("devices")->size() == 1);
    CHECK(*(*devices.array_at("devices"))[0].string_at("id") == device_id);
    auto [sa, audit] = c.get("/v1/admin/audit?device=" + device_id);
    REQUIRE(sa == 200);
    REQUIRE(audit.array_at("events")->size() == 1);
    CHECK(*(*audit.array_at("events"))[0].string_at("kind") == "enroll");
}

TEST_CASE("api: a proof signed by another key is refused and does not spend the token; bad keys are refused") {
    Controller c;
    DeviceKey key, other;
    const std::string token = c.new_token();
    auto [s1, b1] = c.post("/v1/enroll", enroll_body(token, key, other));
    CHECK(s1 == 401);
    CHECK(error_code(b1) == "bad_proof");

    json::Object bad_key;
    bad_key["token"] = token;
    bad_key["public_key"] = "AAAA";
    bad_key["proof"] = key.sign("x");
    bad_key["hostname"] = "h";
    bad_key["platform"] = "linux";
    auto [s2, b2] = c.post("/v1/enroll", json::dump(json::Value(bad_key)));
    CHECK(s2 == 400);
    CHECK(error_code(b2) == "invalid_public_key");

    // The token still works for the right key.
    auto [s3, b3] = c.post("/v1/enroll", enroll_body(token, key, key));
    CHECK(s3 == 201);
    // The same key cannot enroll twice, even with a fresh token.
    auto [s4, b4] = c.post("/v1/enroll", enroll_body(c.new_token(), key, key));
    CHECK(s4 == 409);
    CHECK(error_code(b4) == "device_key_exists");
}

TEST_CASE("api: malformed, oversized and unauthorized requests get a 4xx JSON error and the server keeps serving") {
    Controller c;
    for (const std::string& body : {std::string(""), std::string("{"), std::string("[1,2]"), std::string("\"x\""),
                                    std::string("{\"token\": 5}"), std::string("{\"token\":\"t\",\"public_key\":\"\",\"proof\":\"\",\"hostname\":\"bad host\",\"platform\":\"linux\"}"),
                                    std::string("{\"a\":") + std::string(100, '[')}) {
        CAPTURE(body);
        auto [s, b] = c.post("/v1/enroll", body);
        CHECK(s == 400);
        CHECK(b.find("error"));
    }
    auto big = c.client()->Post("/v1/enroll", std::string(ControllerServer::kMaxBodyBytes + 1, ' '), "application/json");
    REQUIRE(big);
    CHECK(big->status == 413);

    auto [s1, b1] = c.get("/v1/admin/devices", false);
    CHECK(s1 == 401);
    CHECK(error_code(b1) == "admin_unauthorized");
    auto wrong = c.client()->Get("/v1/admin/devices", {{"Authorization", "Bearer ztna-admin-guess"}});
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    auto [s2, b2] = c.get("/v1/no/such/thing");
    CHECK(s2 == 404);
    CHECK(error_code(b2) == "not_found");
    auto [s3, b3] = c.get("/v1/admin/audit?since=yesterday");
    CHECK(s3 == 400);

    // Plain bytes that are not TLS, then a TLS connection with garbage instead of HTTP.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(c.server->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::string junk(4096, '\x16');
    CHECK(write(fd, junk.data(), junk.size()) > 0);
    close(fd);

    auto [sh, health] = c.get("/v1/health", false);
    CHECK(sh == 200);
    CHECK(*health.string_at("status") == "ok");
}

TEST_CASE("api: a client that does not trust the controller's CA refuses to talk to it") {
    Controller c;
    Controller other;
    httplib::SSLClient cli("127.0.0.1", c.server->port());
    cli.set_ca_cert_path((other.dir.path + "/ctl/ca.pem").c_str());
    cli.enable_server_certificate_verification(true);
    auto r = cli.Get("/v1/health");
    CHECK(!r);
}

TEST_CASE("api: a second controller cannot take the port of a running one") {
    Controller c;
    ControllerConfig second = load_controller_config(c.dir.path + "/ctl/controller.json").value();
    second.listen_address = "127.0.0.1";
    second.listen_port = c.server->port();
    ControllerServer other(second, *c.store, *c.control);
    auto r = other.start();
    REQUIRE(!r);
    CHECK(r.error().message.find("is another ztna-controller running?") != std::string::npos);
}
