// `ztnactl posture`: arguments, errors, the table, JSON, and a capture that
// replays. Runs the command in process against the live machine and snapshots.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "posture_cli.h"
#include "ztna/json.h"

namespace fs = std::filesystem;
using ztna::agent::posture_cli;

namespace {

struct Out {
    int code;
    std::string out, err;
};

Out run(std::vector<std::string> args) {
    std::ostringstream o, e;
    const int code = posture_cli(args, o, e);
    return {code, o.str(), e.str()};
}

}  // namespace

TEST_CASE("ztnactl posture: usage errors say what is wrong and exit 2") {
    CHECK(run({"--help"}).code == 0);
    const auto bad = run({"--frobnicate"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("unknown argument \"--frobnicate\"") != std::string::npos);
    CHECK(run({"--snapshot"}).code == 2);
    CHECK(run({"snapshot"}).code == 2);
    CHECK(run({"--requirements"}).code == 2);
}

TEST_CASE("ztnactl posture: a snapshot that is not one, or bad requirements, exit 1 with the reason") {
    const auto missing = run({"--snapshot", "/nonexistent/snapshot"});
    CHECK(missing.code == 1);
    CHECK(missing.err.find("platform") != std::string::npos);
    const auto req = run({"--requirements", "/nonexistent/req.json"});
    CHECK(req.code == 1);
    CHECK(req.err.find("/nonexistent/req.json") != std::string::npos);
}

TEST_CASE("ztnactl posture: table and JSON of this machine; a capture replays to the same JSON") {
    const auto table = run({});
    REQUIRE(table.code == 0);
    CHECK(table.out.find("CHECK            STATUS   SUMMARY / WHAT TO DO") != std::string::npos);
    for (const char* id : {"disk_encryption", "antivirus", "managed_device", "firewall", "os_version", "screen_lock"})
        CHECK(table.out.find(id) != std::string::npos);

    const auto js = run({"--json"});
    REQUIRE(js.code == 0);
    auto doc = ztna::json::parse(js.out);
    REQUIRE(doc);
    REQUIRE(doc->array_at("results"));
    CHECK(doc->array_at("results")->size() == 6);
    CHECK(*doc->string_at("platform") == "linux");

    char tmpl[] = "/tmp/ztnactl-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    const std::string dir = std::string(tmpl) + "/snap";
    const auto cap = run({"snapshot", dir});
    REQUIRE_MESSAGE(cap.code == 0, cap.err);
    CHECK(cap.out.find("ztnactl posture --snapshot " + dir) != std::string::npos);
    const auto again = run({"snapshot", dir});
    CHECK(again.code == 1);
    CHECK(again.err.find("not empty") != std::string::npos);
    const auto replay = run({"--json", "--snapshot", dir});
    REQUIRE(replay.code == 0);
    auto rdoc = ztna::json::parse(replay.out);
    REQUIRE(rdoc);
    CHECK(*rdoc->string_at("source") == "snapshot " + dir);
    std::error_code ec;
    fs::remove_all(tmpl, ec);
}
