// The SQLite store on real database files: migrations, the enrollment token
// lifecycle, devices, users, the audit log, and what happens with a file that
// is not a database or comes from a newer controller.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include "sqlite_store.h"
#include "test_dir.h"
#include "tokens.h"

using namespace ztna::controller;

namespace {

EnrollmentToken token(const std::string& id, std::int64_t created, std::int64_t ttl) {
    EnrollmentToken t;
    t.id = id;
    t.label = "test";
    t.created_at = created;
    t.expires_at = created + ttl;
    return t;
}

Device device(const std::string& id, const std::string& key) {
    Device d;
    d.id = id;
    d.public_key = key;
    d.hostname = "laptop-1";
    d.platform = "linux";
    return d;
}

}  // namespace

TEST_CASE("store: a new database is migrated to the current schema, WAL and foreign keys on") {
    TestDir dir;
    auto s = SqliteStore::open(dir / "c.db");
    REQUIRE_MESSAGE(s, s.error().message);
    CHECK((*s)->schema_version() == 2);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(( dir / "c.db").c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    // The device's token must exist: foreign keys are enforced.
    auto s2 = SqliteStore::open(dir / "c.db");
    REQUIRE(s2);
    auto r = (*s2)->enroll_device(sha256_hex("nope"), device("dev_1", "k1"), 100);
    REQUIRE(!r);
    CHECK(r.error().code == "token_unknown");
}

TEST_CASE("store: an enrollment token enrolls exactly one device, then is used; expired and revoked ones refuse") {
    TestDir dir;
    auto s = SqliteStore::open(dir / "c.db");
    REQUIRE(s);
    Store& st = **s;
    REQUIRE(st.add_enrollment_token(token("tok_a", 1000, 600), sha256_hex("secret-a")));
    REQUIRE(st.add_enrollment_token(token("tok_b", 1000, 600), sha256_hex("secret-b")));
    REQUIRE(st.add_enrollment_token(token("tok_c", 1000, 600), sha256_hex("secret-c")));

    auto d = st.enroll_device(sha256_hex("secret-a"), device("dev_1", "key-1"), 1100);
    REQUIRE_MESSAGE(d, d.error().message);
    CHECK(d->token_id == "tok_a");
    CHECK(d->enrolled_at == 1100);

    auto again = st.enroll_device(sha256_hex("secret-a"), device("dev_2", "key-2"), 1101);
    REQUIRE(!again);
    CHECK(again.error().code == "token_used");

    auto late = st.enroll_device(sha256_hex("secret-b"), device("dev_3", "key-3"), 1600);
    REQUIRE(!late);
    CHECK(late.error().code == "token_expired");

    REQUIRE(st.revoke_enrollment_token("tok_c", 1200));
    auto revoked = st.enroll_device(sha256_hex("secret-c"), device("dev_4", "key-4"), 1201);
    REQUIRE(!revoked);
    CHECK(revoked.error().code == "token_revoked");
    CHECK(st.revoke_enrollment_token("tok_zzz", 1).error().code == "not_found");

    // A refused enrollment leaves nothing behind.
    auto devices = st.list_devices();
    REQUIRE(devices);
    REQUIRE(devices->size() == 1);
    CHECK((*devices)[0].id == "dev_1");

    auto tokens = st.list_enrollment_tokens();
    REQUIRE(tokens);
    REQUIRE(tokens->size() == 3);
    CHECK((*tokens)[0].used_by_device == std::optional<std::string>("dev_1"));
    CHECK((*tokens)[2].revoked_at == std::optional<std::int64_t>(1200));

    // The same device key cannot enroll twice.
    REQUIRE(st.add_enrollment_token(token("tok_d", 1000, 6000), sha256_hex("secret-d")));
    auto dup = st.enroll_device(sha256_hex("secret-d"), device("dev_5", "key-1"), 1300);
    REQUIRE(!dup);
    CHECK(dup.error().code == "device_key_exists");
}

TEST_CASE("store: devices are revoked, users disabled by subject or email, and all of it survives a reopen") {
    TestDir dir;
    {
        auto s = SqliteStore::open(dir / "c.db");
        REQUIRE(s);
        REQUIRE((*s)->add_enrollment_token(token("tok_a", 0, 600), sha256_hex("t")));
        REQUIRE((*s)->enroll_device(sha256_hex("t"), device("dev_1", "k"), 10));
        REQUIRE((*s)->revoke_device("dev_1", 20));
        CHECK((*s)->revoke_device("dev_nope", 20).error().code == "not_found");
        auto u = (*s)->upsert_user("https://idp|alice", "alice@corp.test", 30);
        REQUIRE(u);
        CHECK(!u->disabled_at);
        REQUIRE((*s)->set_user_disabled("alice@corp.test", true, 40));
        CHECK((*s)->set_user_disabled("mallory@corp.test", true, 40).error().code == "not_found");
    }
    auto s = SqliteStore::open(dir / "c.db");
    REQUIRE(s);
    auto d = (*s)->find_device("dev_1");
    REQUIRE(d);
    REQUIRE(d->has_value());
    CHECK((*d)->revoked_at == std::optional<std::int64_t>(20));
    auto u = (*s)->upsert_user("https://idp|alice", "alice@corp.test", 50);  // a later sign-in keeps the disabled state
    REQUIRE(u);
    CHECK(u->disabled_at == std::optional<std::int64_t>(40));
    CHECK(u->first_seen == 30);
    REQUIRE((*s)->set_user_disabled("https://idp|alice", false, 60));
    auto users = (*s)->list_users();
    REQUIRE(users);
    REQUIRE(users->size() == 1);
    CHECK(!(*users)[0].disabled_at);
}

TEST_CASE("store: the audit log answers by user, app, device and time, in order") {
    TestDir dir;
    auto s = SqliteStore::open(dir / "c.db");
    REQUIRE(s);
    const auto add = [&](std::int64_t at, const std::string& user, const std::string& app, const std::string& outcome) {
        AuditEvent e;
        e.at = at;
        e.kind = "decision";
        e.user = user;
        e.app = app;
        e.device_id = "dev_1";
        e.outcome = outcome;
        e.detail = "{\"grant\":\"g\"}";
        REQUIRE((*s)->append_audit(e));
    };
    add(100, "alice", "hr", "allowed");
    add(200, "alice", "accounting", "denied");
    add(300, "bob", "hr", "allowed");
    AuditQuery q;
    q.user = "alice";
    auto r = (*s)->query_audit(q);
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].app == "hr");
    CHECK((*r)[1].outcome == "denied");
    AuditQuery by_app;
    by_app.app = "hr";
    by_app.since = 150;
    r = (*s)->query_audit(by_app);
    REQUIRE(r);
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].user == "bob");
    AuditQuery hostile;
    hostile.user = "alice' OR '1'='1";  // bound, never spliced
    r = (*s)->query_audit(hostile);
    REQUIRE(r);
    CHECK(r->empty());
}

TEST_CASE("store: a file that is not a database, or from a newer controller, is refused with what to do") {
    TestDir dir;
    REQUIRE(write_file(dir / "garbage.db", std::string(8192, 'x')));
    auto g = SqliteStore::open(dir / "garbage.db");
    REQUIRE(!g);
    CHECK(g.error().message.find("garbage.db") != std::string::npos);
    CHECK(g.error().message.find("backup") != std::string::npos);
    CHECK(read_file(dir / "garbage.db") == std::string(8192, 'x'));  // left as it was

    {
        auto s = SqliteStore::open(dir / "new.db");
        REQUIRE(s);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "new.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto n = SqliteStore::open(dir / "new.db");
    REQUIRE(!n);
    CHECK(n.error().message.find("schema version 99") != std::string::npos);

    auto missing_dir = SqliteStore::open(dir / "no/such/dir/c.db");
    REQUIRE(!missing_dir);
    CHECK(missing_dir.error().message.find("cannot open") != std::string::npos);
}

TEST_CASE("store: an audit query with a limit returns the newest events, oldest first") {
    TestDir dir;
    auto s = SqliteStore::open(dir / "c.db");
    REQUIRE(s);
    for (int i = 1; i <= 5; ++i) {
        AuditEvent e;
        e.at = i;
        e.kind = "k" + std::to_string(i);
        REQUIRE((*s)->append_audit(e));
    }
    AuditQuery q;
    q.limit = 2;
    auto r = (*s)->query_audit(q);
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].kind == "k4");
    CHECK((*r)[1].kind == "k5");
}

TEST_CASE("store: an email shared by two subjects does not name a user") {
    TestDir dir;
    auto s = SqliteStore::open(dir / "c.db");
    REQUIRE(s);
    REQUIRE((*s)->upsert_user("https://a|1", "alice@corp.test", 1));
    REQUIRE((*s)->upsert_user("https://b|9", "alice@corp.test", 1));
    auto r = (*s)->set_user_disabled("alice@corp.test", true, 2);
    REQUIRE(!r);
    CHECK(r.error().code == "ambiguous");
    CHECK((*s)->set_user_disabled("https://b|9", true, 2));
}
