// ztna-admin, run in process against a real controller on loopback: init,
// tokens, devices, users and audit, with their exit statuses and messages.
#include <doctest/doctest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <memory>
#include <vector>

#include "admin_commands.h"
#include "control_plane.h"
#include "server.h"
#include "sqlite_store.h"
#include "test_dir.h"

using namespace ztna;
using namespace ztna::controller;

namespace {

struct Run {
    int status = -1;
    std::string out, err;
};

Run admin(std::vector<std::string> args) {
    args.insert(args.begin(), "ztna-admin");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    char *obuf = nullptr, *ebuf = nullptr;
    std::size_t olen = 0, elen = 0;
    FILE* out = open_memstream(&obuf, &olen);
    FILE* err = open_memstream(&ebuf, &elen);
    Run r;
    r.status = run_admin(int(argv.size()), argv.data(), out, err);
    fclose(out);
    fclose(err);
    r.out.assign(obuf, olen);
    r.err.assign(ebuf, elen);
    free(obuf);
    free(ebuf);
    return r;
}

}  // namespace

TEST_CASE("ztna-admin: init, then tokens, devices, users and audit against the running controller") {
    TestDir dir;
    const std::string d = dir / "ctl";
    auto init = admin({"init", "--dir", d, "--name", "127.0.0.1", "--port", "1"});
    REQUIRE_MESSAGE(init.status == 0, init.err);
    CHECK(init.out.find("controller.json") != std::string::npos);
    auto again = admin({"init", "--dir", d, "--name", "127.0.0.1"});
    CHECK(again.status == 1);
    CHECK(again.err.find("already exists") != std::string::npos);

    // Serve on a port the kernel picks, and point controller.json at it.
    auto config = load_controller_config(d + "/controller.json");
    REQUIRE(config);
    config->listen_address = "127.0.0.1";
    config->listen_port = 0;
    auto store = SqliteStore::open(config->database);
    REQUIRE(store);
    auto policy = load_policy_file(config->policy);
    REQUIRE(policy);
    ControlPlane control(*config, **store, std::move(*policy));
    ControllerServer server(*config, **store, control);
    REQUIRE(server.start());
    std::string text = read_file(d + "/controller.json");
    const std::string from = "https://127.0.0.1:1\"";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), "https://127.0.0.1:" + std::to_string(server.port()) + "\"");
    REQUIRE(write_file(d + "/controller.json", text));

    auto none = admin({"--dir", d, "tokens", "list"});
    REQUIRE_MESSAGE(none.status == 0, none.err);
    CHECK(none.out.find("No enrollment tokens") != std::string::npos);

    auto created = admin({"--dir", d, "tokens", "create", "--ttl", "2h", "--label", "rollout"});
    REQUIRE_MESSAGE(created.status == 0, created.err);
    CHECK(created.out.find("ztna-enroll-") != std::string::npos);
    auto listed = admin({"--dir", d, "tokens", "list", "--json"});
    REQUIRE(listed.status == 0);
    auto v = json::parse(listed.out);
    REQUIRE(v);
    REQUIRE(v->array_at("tokens")->size() == 1);
    const auto& t = (*v->array_at("tokens"))[0];
    CHECK(*t.string_at("state") == "active");
    CHECK(*t.string_at("label") == "rollout");
    CHECK(listed.out.find("ztna-enroll-") == std::string::npos);  // the secret is shown once, never listed

    auto revoke = admin({"--dir", d, "tokens", "revoke", *t.string_at("id")});
    CHECK(revoke.status == 0);
    CHECK(revoke.out.find("revoked") != std::string::npos);
    auto bad = admin({"--dir", d, "devices", "revoke", "dev_0000"});
    CHECK(bad.status == 1);
    CHECK(bad.err.find("no device has the id dev_0000") != std::string::npos);
    auto nobody = admin({"--dir", d, "users", "disable", "alice@corp.test"});
    CHECK(nobody.status == 1);
    CHECK(nobody.err.find("first sign-in") != std::string::npos);

    auto audit = admin({"--dir", d, "audit", "--since", "1h"});
    REQUIRE_MESSAGE(audit.status == 0, audit.err);
    CHECK(audit.out.find("token_created") != std::string::npos);
    CHECK(audit.out.find("token_revoked") != std::string::npos);

    CHECK(admin({"--dir", d, "tokens", "create", "--ttl", "soon"}).status == 2);
    CHECK(admin({"--dir", d, "frobnicate"}).status == 2);
    CHECK(admin({"--dir", d, "audit", "--since", "last tuesday"}).status == 2);

    server.stop();
    auto down = admin({"--dir", d, "devices", "list"});
    CHECK(down.status == 1);
    CHECK(down.err.find("cannot reach the controller") != std::string::npos);
    auto nodir = admin({"--dir", dir / "missing", "devices", "list"});
    CHECK(nodir.status == 1);
    CHECK(nodir.err.find("ztna-admin init") != std::string::npos);
}

TEST_CASE("ztna-admin: policy check names the file, line and field of the first error") {
    TestDir dir;
    REQUIRE(write_file(dir / "ok.json", "{\"version\": 1, \"gateways\": [], \"apps\": [], \"rules\": []}"));
    auto ok = admin({"policy", "check", dir / "ok.json"});
    CHECK(ok.status == 0);
    CHECK(ok.out.find("valid: 0 gateways, 0 apps, 0 rules") != std::string::npos);
    REQUIRE(write_file(dir / "bad.json", "{\n  \"version\": 1,\n  \"gateways\": [],\n  \"apps\": [],\n  \"rules\": [{\"name\": \"r\", \"groups\": [\"g\"], \"apps\": [\"nope\"]}]\n}\n"));
    auto bad = admin({"policy", "check", dir / "bad.json"});
    CHECK(bad.status == 1);
    CHECK(bad.err == "ztna-admin: " + dir / "bad.json" + ":5: rules[0].apps[0]: no app is named \"nope\"\n");
    CHECK(admin({"policy", "check"}).status == 2);
}

TEST_CASE("ztna-admin: init --gateway writes a 0600 credential per gateway, named in controller.json by hash only") {
    TestDir dir;
    auto r = admin({"init", "--dir", dir / "c", "--name", "ctl.corp.test", "--gateway", "gw1", "--gateway", "gw2"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const std::string token = read_file(dir / "c/gateway-gw1.token");
    REQUIRE(token.rfind("ztna-gateway-", 0) == 0);
    const std::string config = read_file(dir / "c/controller.json");
    CHECK(config.find("gw2") != std::string::npos);
    CHECK(config.find(token.substr(0, token.size() - 1)) == std::string::npos);
    struct stat st{};
    REQUIRE(stat((dir / "c/gateway-gw1.token").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat((dir / "c/ca.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(admin({"init", "--dir", dir / "d", "--name", "x", "--gateway", "bad/id"}).status == 1);
}

TEST_CASE("ztna-admin: durations") {
    CHECK(parse_duration_s("90s") == 90);
    CHECK(parse_duration_s("15m") == 900);
    CHECK(parse_duration_s("2h") == 7200);
    CHECK(parse_duration_s("7d") == 7 * 86400);
    CHECK(parse_duration_s("3600") == 3600);
    CHECK(!parse_duration_s(""));
    CHECK(!parse_duration_s("h"));
    CHECK(!parse_duration_s("-5m"));
    CHECK(!parse_duration_s("1.5h"));
}
