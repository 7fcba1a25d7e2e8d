// The agent's local store on real SQLite files, each test in its own
// temporary directory (removed at the end, also when a check fails).
#include "agent_store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace ztna::agent;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
const std::string kSecret = "tok_3QmZ9vS7ECRETxk2Lw8";

struct TestDir {
    TestDir() {
        char tmpl[] = "/tmp/ztna-agent-store-test-XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TestDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TestDir(const TestDir&) = delete;
    TestDir& operator=(const TestDir&) = delete;
    std::string operator/(const std::string& name) const { return path + "/" + name; }
    std::string path;
};

void write_file(const std::string& path, const std::string& data) {
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o << data;
    REQUIRE(bool(o));
}

std::string read_file(const std::string& path) {
    std::ifstream i(path, std::ios::binary);
    std::ostringstream ss;
    ss << i.rdbuf();
    return ss.str();
}

unsigned mode_of(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return unsigned(st.st_mode & 07777);
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = char(rng() & 0xff);
    return s;
}

// Runs SQL on the file with a connection of the test's own.
void raw_exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
}

std::unique_ptr<AgentStore> open_ok(const std::string& path, OpenReport* report = nullptr, std::int64_t now = kNow) {
    auto s = AgentStore::open(path, report, now);
    REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
    REQUIRE(*s != nullptr);
    return std::move(*s);
}

// A store at path with one row in every table, closed again.
void make_populated(const std::string& path) {
    auto s = open_ok(path);
    REQUIRE(s->put_state(state_key::kDeviceId, "dev-1"));
    REQUIRE(s->put_state(state_key::kSessionToken, kSecret));
    REQUIRE(s->upsert_grant({"g-1", "wiki", kNow + 600, "100.64.0.2/32", R"({"id":"g-1"})"}));
    REQUIRE(s->add_posture({0, kNow, "pass", "[]"}));
    REQUIRE(s->log_access({0, kNow, "wiki", "allow", "", "ok"}));
}

std::vector<std::string> names_with_prefix(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(prefix, 0) == 0) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Opens a damaged file: it is rebuilt, the report says so naming the path, the
// old bytes are kept, and the new store is empty and usable.
void expect_rebuilt(const std::string& path, const std::string& problem_part, std::int64_t now = kNow) {
    const std::string before = read_file(path);
    OpenReport report;
    auto s = open_ok(path, &report, now);
    CHECK(report.rebuilt);
    CHECK_MESSAGE(report.problem.find(path) != std::string::npos, report.problem);
    CHECK_MESSAGE(report.problem.find(problem_part) != std::string::npos, report.problem);
    CHECK(report.problem.find(kSecret) == std::string::npos);
    CHECK(report.moved_to.rfind(path + ".corrupt-" + std::to_string(now), 0) == 0);
    CHECK(read_file(report.moved_to) == before);
    CHECK(mode_of(path) == 0600);
    auto device = s->get_state(state_key::kDeviceId);
    REQUIRE(device);
    CHECK_FALSE(device->has_value());
    CHECK(s->put_state(state_key::kDeviceId, "dev-2"));
    CHECK(s->schema_version().value() == 1);
}

}  // namespace

TEST_CASE("a new store creates its directories 0700 and its files 0600, whatever the umask") {
    TestDir dir;
    const std::string path = dir / "a/b/agent.db";
    const mode_t old = ::umask(0);
    OpenReport report;
    report.rebuilt = true;  // reset by open
    auto s = AgentStore::open(path, &report, kNow);
    ::umask(old);
    REQUIRE(s);
    CHECK_FALSE(report.rebuilt);
    CHECK(report.problem.empty());
    CHECK(mode_of(dir / "a") == 0700);
    CHECK(mode_of(dir / "a/b") == 0700);
    CHECK(mode_of(path) == 0600);
    REQUIRE((*s)->put_state("k", "v"));
    for (const char* side : {"-wal", "-shm"}) {
        if (fs::exists(path + side)) CHECK(mode_of(path + side) == 0600);
    }
    CHECK((*s)->schema_version().value() == 1);
    CHECK((*s)->path() == path);
}

TEST_CASE("an existing database file with a wider mode is narrowed to 0600") {
    TestDir dir;
    const std::string path = dir / "agent.db";
    { open_ok(path); }
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    auto s = open_ok(path);
    CHECK(mode_of(path) == 0600);
}

TEST_CASE("state: put, get, overwrite, delete and clear_session") {
    TestDir dir;
    auto s = open_ok(dir / "agent.db");
    CHECK_FALSE(s->get_state("missing").value().has_value());
    REQUIRE(s->put_state(state_key::kDeviceId, "dev-1"));
    REQUIRE(s->put_state(state_key::kSessionToken, kSecret));
    REQUIRE(s->put_state(state_key::kSessionGroups, R"(["eng","ops"])"));
    REQUIRE(s->put_state(state_key::kSessionController, "https://ztna.example.com"));
    REQUIRE(s->put_state("sessionless", "x"));  // not a session key
    REQUIRE(s->put_state("session_x", "y"));    // '_' is no wildcard
    CHECK(s->get_state(state_key::kSessionToken).value() == kSecret);
    REQUIRE(s->put_state(state_key::kDeviceId, "dev-2"));
    CHECK(s->get_state(state_key::kDeviceId).value() == "dev-2");
    REQUIRE(s->put_state("empty", ""));
    CHECK(s->get_state("empty").value() == "");

    REQUIRE(s->clear_session());
    CHECK_FALSE(s->get_state(state_key::kSessionToken).value().has_value());
    CHECK_FALSE(s->get_state(state_key::kSessionGroups).value().has_value());
    CHECK_FALSE(s->get_state(state_key::kSessionController).value().has_value());
    CHECK(s->get_state(state_key::kDeviceId).value() == "dev-2");
    CHECK(s->get_state("sessionless").value() == "x");
    CHECK(s->get_state("session_x").value() == "y");

    REQUIRE(s->delete_state(state_key::kDeviceId));
    CHECK_FALSE(s->get_state(state_key::kDeviceId).value().has_value());
    CHECK(s->delete_state("never-there"));

    auto bad = s->put_state("", "v");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == "bad_input");
}

TEST_CASE("grants: upsert, list, remove, clear; no private key is ever stored") {
    TestDir dir;
    auto s = open_ok(dir / "agent.db");
    REQUIRE(s->upsert_grant({"g-2", "db", kNow + 900, "100.64.0.3/32", R"({"id":"g-2","app":"db"})"}));
    REQUIRE(s->upsert_grant({"g-1", "wiki", kNow + 600, "100.64.0.2/32", R"({"id":"g-1","agent_public_key":"AAAA"})"}));
    auto list = s->list_grants();
    REQUIRE(list);
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].id == "g-1");  // earliest expiry first
    CHECK((*list)[0].app == "wiki");
    CHECK((*list)[0].expires_at == kNow + 600);
    CHECK((*list)[0].tunnel_address == "100.64.0.2/32");
    CHECK((*list)[0].json == R"({"id":"g-1","agent_public_key":"AAAA"})");

    REQUIRE(s->upsert_grant({"g-1", "wiki", kNow + 1200, "100.64.0.9/32", R"({"id":"g-1","renewed":true})"}));
    list = s->list_grants();
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].id == "g-2");
    CHECK((*list)[1].expires_at == kNow + 1200);
    CHECK((*list)[1].tunnel_address == "100.64.0.9/32");
    CHECK((*list)[1].json == R"({"id":"g-1","renewed":true})");

    CHECK(s->remove_grant("g-2").value() == true);
    CHECK(s->remove_grant("g-2").value() == false);
    CHECK(s->list_grants()->size() == 1);
    REQUIRE(s->clear_grants());
    CHECK(s->list_grants()->empty());

    for (std::string json : {R"({"id":"g-3","agent_private_key":"@"})", R"({"id":"g-3","peer":{"privateKey":"@"}})",
                             R"({"id":"g-3","keys":[{"Private-Key":"@"}]})"}) {
        json.replace(json.find('@'), 1, kSecret);
        auto r = s->upsert_grant({"g-3", "wiki", kNow, "100.64.0.4/32", json});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == "bad_input");
        CHECK_MESSAGE(r.error().message.find("private key") != std::string::npos, r.error().message);
        CHECK(r.error().message.find(kSecret) == std::string::npos);
    }
    CHECK(s->list_grants()->empty());
    auto not_object = s->upsert_grant({"g-4", "wiki", kNow, "100.64.0.4/32", "[1,2]"});
    REQUIRE_FALSE(not_object);
    CHECK(not_object.error().message.find("grants") != std::string::npos);
    CHECK_FALSE(s->upsert_grant({"g-4", "wiki", kNow, "100.64.0.4/32", "{not json"}));
}

TEST_CASE("posture history: round trip, newest kept, at most 1000 rows") {
    TestDir dir;
    auto s = open_ok(dir / "agent.db");
    REQUIRE(s->add_posture({0, kNow, "fail", R"({"disk_encryption":"fail"})"}));
    auto one = s->recent_posture(10);
    REQUIRE(one);
    REQUIRE(one->size() == 1);
    CHECK((*one)[0].at == kNow);
    CHECK((*one)[0].overall == "fail");
    CHECK((*one)[0].results_json == R"({"disk_encryption":"fail"})");
    CHECK((*one)[0].id > 0);

    for (int i = 1; i <= 1004; ++i) REQUIRE(s->add_posture({0, kNow + i, i % 2 ? "pass" : "unknown", "{}"}));
    auto all = s->recent_posture(5000);
    REQUIRE(all);
    REQUIRE(all->size() == AgentStore::kMaxPostureRows);
    CHECK(all->front().at == kNow + 5);  // the five oldest are gone
    CHECK(all->back().at == kNow + 1004);
    auto last = s->recent_posture(3);
    REQUIRE(last->size() == 3);
    CHECK((*last)[0].at == kNow + 1002);  // oldest first
    CHECK((*last)[2].at == kNow + 1004);
    CHECK(s->recent_posture(0)->empty());

    auto bad = s->add_posture({0, kNow, "green", "{}"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == "bad_input");
    CHECK_FALSE(s->add_posture({0, kNow, "pass", "{oops"}));
    CHECK(s->recent_posture(5000)->size() == AgentStore::kMaxPostureRows);
}

TEST_CASE("access log: round trip, since, newest kept, at most 10000 rows") {
    TestDir dir;
    auto s = open_ok(dir / "agent.db");
    REQUIRE(s->log_access({0, kNow, "wiki", "deny", "posture_failed", "disk encryption is off"}));
    auto one = s->recent_access(10);
    REQUIRE(one);
    REQUIRE(one->size() == 1);
    CHECK((*one)[0].at == kNow);
    CHECK((*one)[0].app == "wiki");
    CHECK((*one)[0].outcome == "deny");
    CHECK((*one)[0].reason == "posture_failed");
    CHECK((*one)[0].message == "disk encryption is off");

    const char* outcomes[] = {"allow", "deny", "connected", "revoked"};
    for (int i = 1; i <= 10009; ++i) REQUIRE(s->log_access({0, kNow + i, "app", outcomes[i % 4], "", ""}));
    auto all = s->recent_access(100000);
    REQUIRE(all);
    REQUIRE(all->size() == AgentStore::kMaxAccessRows);
    CHECK(all->front().at == kNow + 10);  // the ten oldest are gone
    CHECK(all->back().at == kNow + 10009);
    auto since = s->recent_access(100, kNow + 10005);
    REQUIRE(since->size() == 5);
    CHECK(since->front().at == kNow + 10005);
    CHECK(since->back().outcome == "deny");  // outcomes[10009 % 4]
    auto limited = s->recent_access(2, kNow + 10005);
    REQUIRE(limited->size() == 2);
    CHECK(limited->front().at == kNow + 10008);

    auto bad = s->log_access({0, kNow, "wiki", "", "", ""});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == "bad_input");
}

TEST_CASE("everything persists across close and reopen") {
    TestDir dir;
    const std::string path = dir / "agent.db";
    make_populated(path);
    OpenReport report;
    auto s = open_ok(path, &report);
    CHECK_FALSE(report.rebuilt);
    CHECK(s->get_state(state_key::kDeviceId).value() == "dev-1");
    CHECK(s->get_state(state_key::kSessionToken).value() == kSecret);
    REQUIRE(s->list_grants()->size() == 1);
    CHECK(s->list_grants()->front().json == R"({"id":"g-1"})");
    CHECK(s->recent_posture(10)->size() == 1);
    CHECK(s->recent_access(10)->front().message == "ok");
    CHECK(names_with_prefix(dir.path, "agent.db.corrupt-").empty());
}

TEST_CASE("a damaged database is moved aside and rebuilt, never used or lost") {
    TestDir dir;
    const std::string path = dir / "agent.db";

    SUBCASE("random bytes, with a -wal beside it") {
        write_file(path, random_bytes(8192, 7));
        write_file(path + "-wal", random_bytes(100, 8));
        expect_rebuilt(path, "is not a SQLite database");
        // The -wal (and the -shm SQLite made while reading it) went with the file.
        const std::string base = "agent.db.corrupt-" + std::to_string(kNow);
        const auto kept = names_with_prefix(dir.path, "agent.db.corrupt-");
        CHECK(std::all_of(kept.begin(), kept.end(), [&](const std::string& n) {
            return n == base || n == base + "-wal" || n == base + "-shm";
        }));
        CHECK(read_file(dir / ("agent.db.corrupt-" + std::to_string(kNow) + "-wal")) == random_bytes(100, 8));
    }
    SUBCASE("a valid database truncated in the middle") {
        {
            auto s = open_ok(path);
            REQUIRE(s->put_state(state_key::kSessionToken, kSecret));
            for (int i = 0; i < 3000; ++i) REQUIRE(s->log_access({0, kNow + i, "app", "allow", "", std::string(200, 'm')}));
        }
        REQUIRE_FALSE(fs::exists(path + "-wal"));  // checkpointed on close
        const auto size = fs::file_size(path);
        REQUIRE(size > 100000);
        fs::resize_file(path, size / 2);
        expect_rebuilt(path, "is damaged");
    }
    SUBCASE("a SQLite file with an unrelated schema") {
        raw_exec(path, "CREATE TABLE photos (id INTEGER PRIMARY KEY, blob BLOB); INSERT INTO photos (blob) VALUES (x'00');");
        expect_rebuilt(path, "is not an agent database (it holds other tables: photos)");
    }
    SUBCASE("a schema version newer than this agent") {
        make_populated(path);
        raw_exec(path, "PRAGMA user_version=99");
        expect_rebuilt(path, "schema version 99");
    }
    SUBCASE("a table missing one of its columns") {
        make_populated(path);
        raw_exec(path, "ALTER TABLE grants DROP COLUMN json");
        expect_rebuilt(path, "lacks column json in table grants");
    }
    SUBCASE("a table missing") {
        make_populated(path);
        raw_exec(path, "DROP TABLE access_log");
        expect_rebuilt(path, "has no table access_log");
    }
    SUBCASE("an index that disagrees with its table (integrity_check)") {
        make_populated(path);
        raw_exec(path, "CREATE TABLE extra (a TEXT, b TEXT); CREATE INDEX extra_a ON extra(a);"
                       "INSERT INTO extra VALUES ('1', 'x'), ('2', 'y');"
                       "PRAGMA writable_schema=ON;"
                       "UPDATE sqlite_schema SET sql = 'CREATE INDEX extra_a ON extra(b)' WHERE name = 'extra_a';");
        expect_rebuilt(path, "failed its integrity check");
    }
}

TEST_CASE("at most three corrupt copies are kept, the oldest deleted first") {
    TestDir dir;
    const std::string path = dir / "agent.db";
    for (const char* old : {"agent.db.corrupt-100", "agent.db.corrupt-100-wal", "agent.db.corrupt-200", "agent.db.corrupt-300",
                            "agent.db.corrupt-notes"}) {
        write_file(dir / old, "old");
    }
    write_file(path, random_bytes(4096, 1));
    { open_ok(path, nullptr, 400); }
    CHECK(names_with_prefix(dir.path, "agent.db.corrupt-") ==
          std::vector<std::string>{"agent.db.corrupt-200", "agent.db.corrupt-300", "agent.db.corrupt-400", "agent.db.corrupt-notes"});

    // Two more in the same second get names of their own.
    for (unsigned seed : {2u, 3u}) {
        write_file(path, random_bytes(4096, seed));
        OpenReport report;
        open_ok(path, &report, 400);
        CHECK(report.rebuilt);
        CHECK(read_file(report.moved_to) == random_bytes(4096, seed));
    }
    CHECK(names_with_prefix(dir.path, "agent.db.corrupt-") ==
          std::vector<std::string>{"agent.db.corrupt-400", "agent.db.corrupt-400.1", "agent.db.corrupt-400.2",
                                   "agent.db.corrupt-notes"});
}

TEST_CASE("a path that cannot be created is an error naming it and what to do") {
    TestDir dir;
    write_file(dir / "file", "not a directory");

    SUBCASE("the parent is a file") {
        const std::string path = dir / "file/agent.db";
        OpenReport report;
        auto s = AgentStore::open(path, &report, kNow);
        REQUIRE_FALSE(s);
        CHECK(s.error().code == "store_error");
        CHECK_MESSAGE(s.error().message.find(path) != std::string::npos, s.error().message);
        CHECK(s.error().message.find("is not a directory") != std::string::npos);
        CHECK(s.error().message.find("configure another database path") != std::string::npos);
        CHECK_FALSE(report.rebuilt);
        CHECK(read_file(dir / "file") == "not a directory");
    }
    SUBCASE("an ancestor further up is a file") {
        auto s = AgentStore::open(dir / "file/x/y/agent.db", nullptr, kNow);
        REQUIRE_FALSE(s);
        CHECK(s.error().message.find(dir / "file is not a directory") != std::string::npos);
    }
    SUBCASE("a directory stands where the file should be") {
        fs::create_directory(dir / "agent.db");
        auto s = AgentStore::open(dir / "agent.db", nullptr, kNow);
        REQUIRE_FALSE(s);
        CHECK_MESSAGE(s.error().message.find("it is a directory") != std::string::npos, s.error().message);
        CHECK(fs::is_directory(dir / "agent.db"));  // not moved aside as "corrupt"
    }
    SUBCASE("a path naming no file") {
        auto s = AgentStore::open(dir.path + "/", nullptr, kNow);
        REQUIRE_FALSE(s);
        CHECK(s.error().message.find("does not name a file") != std::string::npos);
    }
}

TEST_CASE("the session token never appears in an error message") {
    TestDir dir;
    const std::string path = dir / "agent.db";
    auto s = open_ok(path);
    REQUIRE(s->put_state(state_key::kSessionToken, "old"));
    // Make every write to state fail, as a full disk would.
    raw_exec(path, "CREATE TRIGGER refuse_insert BEFORE INSERT ON state BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
                   "CREATE TRIGGER refuse_update BEFORE UPDATE ON state BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
    for (const char* key : {state_key::kSessionToken, state_key::kSessionId}) {  // an update and an insert
        auto r = s->put_state(key, kSecret);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == "store_error");
        CHECK_MESSAGE(r.error().message.find(path) != std::string::npos, r.error().message);
        CHECK(r.error().message.find("table state") != std::string::npos);
        CHECK(r.error().message.find("refused by the test") != std::string::npos);
        CHECK(r.error().message.find(kSecret) == std::string::npos);
    }
    CHECK(s->get_state(state_key::kSessionToken).value() == "old");

    // A damaged file holding the token: the report names the path, not the token.
    s.reset();
    raw_exec(path, "DROP TRIGGER refuse_insert; DROP TRIGGER refuse_update;");
    {
        auto again = open_ok(path);
        REQUIRE(again->put_state(state_key::kSessionToken, kSecret));
        for (int i = 0; i < 2000; ++i) REQUIRE(again->log_access({0, kNow, "app", "allow", "", std::string(100, 'x')}));
    }
    fs::resize_file(path, fs::file_size(path) / 3);
    OpenReport report;
    auto rebuilt = open_ok(path, &report);
    CHECK(report.rebuilt);
    CHECK(report.problem.find(kSecret) == std::string::npos);
}

TEST_CASE("two threads may use one store at the same time") {
    TestDir dir;
    auto s = open_ok(dir / "agent.db");
    constexpr int kEach = 300;
    int failures[2] = {0, 0};
    auto work = [&](int t) {
        for (int i = 0; i < kEach; ++i) {
            const std::string key = "thread" + std::to_string(t) + ".n";
            if (!s->log_access({0, kNow + i, "app" + std::to_string(t), "allow", "", ""})) ++failures[t];
            if (!s->put_state(key, std::to_string(i))) ++failures[t];
            auto v = s->get_state(key);
            if (!v || *v != std::optional<std::string>(std::to_string(i))) ++failures[t];
            if (i % 10 == 0 && !s->add_posture({0, kNow + i, "pass", "{}"})) ++failures[t];
            if (!s->recent_access(5)) ++failures[t];
        }
    };
    std::thread a(work, 0), b(work, 1);
    a.join();
    b.join();
    CHECK(failures[0] == 0);
    CHECK(failures[1] == 0);
    auto log = s->recent_access(100000);
    REQUIRE(log);
    CHECK(log->size() == 2 * kEach);
    CHECK(std::count_if(log->begin(), log->end(), [](const AccessRow& r) { return r.app == "app0"; }) == kEach);
    CHECK(s->recent_posture(1000)->size() == 2 * (kEach / 10));
    CHECK(s->get_state("thread0.n").value() == std::to_string(kEach - 1));
    CHECK(s->get_state("thread1.n").value() == std::to_string(kEach - 1));
}
