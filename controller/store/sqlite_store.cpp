#include "sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

namespace ztna::controller {

namespace {

// The schema, one migration per entry; entry i takes the database from
// version i to i + 1. Never edit a shipped entry: append a new one.
const char* const kMigrations[] = {
    // 1: enrollment, devices, users, audit
    R"sql(
    CREATE TABLE enrollment_tokens (
        id            TEXT PRIMARY KEY,
        token_hash    TEXT NOT NULL UNIQUE,
        label         TEXT NOT NULL DEFAULT '',
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        used_at       INTEGER,
        used_by       TEXT,
        revoked_at    INTEGER
    );
    CREATE TABLE devices (
        id            TEXT PRIMARY KEY,
        public_key    TEXT NOT NULL UNIQUE,
        hostname      TEXT NOT NULL,
        platform      TEXT NOT NULL,
        enrolled_at   INTEGER NOT NULL,
        token_id      TEXT NOT NULL REFERENCES enrollment_tokens(id),
        revoked_at    INTEGER
    );
    CREATE TABLE users (
        subject       TEXT PRIMARY KEY,
        email         TEXT NOT NULL DEFAULT '',
        first_seen    INTEGER NOT NULL,
        disabled_at   INTEGER
    );
    CREATE INDEX users_email ON users(email);
    CREATE TABLE audit (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        at            INTEGER NOT NULL,
        kind          TEXT NOT NULL,
        actor         TEXT NOT NULL DEFAULT '',
        user          TEXT NOT NULL DEFAULT '',
        device_id     TEXT NOT NULL DEFAULT '',
        app           TEXT NOT NULL DEFAULT '',
        outcome       TEXT NOT NULL DEFAULT '',
        reason        TEXT NOT NULL DEFAULT '',
        detail        TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE INDEX audit_user ON audit(user, at);
    CREATE INDEX audit_app ON audit(app, at);
    )sql",
    // 2: sessions and grants
    R"sql(
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        token_hash    TEXT NOT NULL UNIQUE,
        user          TEXT NOT NULL REFERENCES users(subject),
        device_id     TEXT NOT NULL REFERENCES devices(id),
        email         TEXT NOT NULL DEFAULT '',
        groups        TEXT NOT NULL DEFAULT '[]',
        amr           TEXT NOT NULL DEFAULT '[]',
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        ended_at      INTEGER,
        end_reason    TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sessions_live ON sessions(ended_at);
    CREATE TABLE grants (
        id               TEXT PRIMARY KEY,
        session_id       TEXT NOT NULL REFERENCES sessions(id),
        user             TEXT NOT NULL,
        device_id        TEXT NOT NULL,
        app              TEXT NOT NULL,
        gateway          TEXT NOT NULL,
        agent_public_key TEXT NOT NULL,
        tunnel_address   TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        ended_at         INTEGER,
        end_reason       TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX grants_live_address ON grants(gateway, tunnel_address) WHERE ended_at IS NULL;
    CREATE UNIQUE INDEX grants_live_key ON grants(agent_public_key) WHERE ended_at IS NULL;
    CREATE INDEX grants_live ON grants(ended_at);
    )sql",
};
constexpr int kSchemaVersion = int(sizeof(kMigrations) / sizeof(kMigrations[0]));

// One prepared statement, finalized on scope exit. Binds are 1-based.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    bool ok() const { return rc_ == SQLITE_OK && s_; }
    std::string error() const { return sqlite3_errmsg(db_); }

    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Stmt& bind(int i, const std::optional<std::int64_t>& v) {
        if (v) sqlite3_bind_int64(s_, i, *v);
        else sqlite3_bind_null(s_, i);
        return *this;
    }
    Stmt& bind(int i, const std::optional<std::string>& v) {
        if (v) return bind(i, *v);
        sqlite3_bind_null(s_, i);
        return *this;
    }
    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return sqlite3_step(s_); }

    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p ? std::string(p, std::size_t(sqlite3_column_bytes(s_, col))) : std::string();
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
    std::optional<std::int64_t> opt_integer(int col) const {
        if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
        return sqlite3_column_int64(s_, col);
    }
    std::optional<std::string> opt_text(int col) const {
        if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
        return text(col);
    }

private:
    sqlite3* db_;
    sqlite3_stmt* s_ = nullptr;
    int rc_ = SQLITE_ERROR;
};

Unexpected<Error> store_error(sqlite3* db, const std::string& what) {
    return fail("store_error", "controller database: " + what + " failed: " + sqlite3_errmsg(db) +
                                   ". Check the disk and the database file; restore from a backup if it is corrupt.");
}

Result<void> exec(sqlite3* db, const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : sqlite3_errmsg(db);
        sqlite3_free(msg);
        return fail("store_error", "controller database: " + m);
    }
    return {};
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : db_(db) { ok_ = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK; }
    ~Transaction() {
        if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    bool ok() const { return ok_; }
    bool commit() {
        done_ = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
        return done_;
    }

private:
    sqlite3* db_;
    bool ok_ = false, done_ = false;
};

EnrollmentToken token_from(const Stmt& s) {
    EnrollmentToken t;
    t.id = s.text(0);
    t.label = s.text(1);
    t.created_at = s.integer(2);
    t.expires_at = s.integer(3);
    t.used_at = s.opt_integer(4);
    t.used_by_device = s.opt_text(5);
    t.revoked_at = s.opt_integer(6);
    return t;
}

Device device_from(const Stmt& s) {
    Device d;
    d.id = s.text(0);
    d.public_key = s.text(1);
    d.hostname = s.text(2);
    d.platform = s.text(3);
    d.enrolled_at = s.integer(4);
    d.token_id = s.text(5);
    d.revoked_at = s.opt_integer(6);
    return d;
}

User user_from(const Stmt& s) {
    User u;
    u.subject = s.text(0);
    u.email = s.text(1);
    u.first_seen = s.integer(2);
    u.disabled_at = s.opt_integer(3);
    return u;
}

constexpr const char* kDeviceColumns = "id, public_key, hostname, platform, enrolled_at, token_id, revoked_at";

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return fail("store_error", "cannot open the controller database " + path + ": " + m +
                                       ". Check that its directory exists and is writable by the controller.");
    }
    std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
    sqlite3_busy_timeout(db, 5000);
    // A file that is not a database fails here, on its first read.
    if (auto r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !r) {
        return fail("store_error", "cannot use " + path + " as the controller database: " + r.error().message +
                                       ". Move the file away and restore a backup, or start with a new database.");
    }
    if (auto r = store->migrate(); !r) return Unexpected<Error>{r.error()};
    return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

int SqliteStore::schema_version() {
    std::lock_guard lock(mu_);
    Stmt s(db_, "PRAGMA user_version");
    return s.ok() && s.step() == SQLITE_ROW ? int(s.integer(0)) : -1;
}

Result<void> SqliteStore::migrate() {
    std::lock_guard lock(mu_);
    Stmt s(db_, "PRAGMA user_version");
    if (!s.ok() || s.step() != SQLITE_ROW) return store_error(db_, "reading the schema version of " + path_);
    const int have = int(s.integer(0));
    if (have > kSchemaVersion) {
        return fail("store_error", "the controller database " + path_ + " has schema version " + std::to_string(have) +
                                       ", newer than this controller's " + std::to_string(kSchemaVersion) +
                                       ". Run the newer controller, or restore a backup made by this version.");
    }
    for (int v = have; v < kSchemaVersion; ++v) {
        Transaction tx(db_);
        if (!tx.ok()) return store_error(db_, "starting migration " + std::to_string(v + 1));
        if (auto r = exec(db_, kMigrations[v]); !r) return r;
        const std::string set = "PRAGMA user_version=" + std::to_string(v + 1);
        if (auto r = exec(db_, set.c_str()); !r) return r;
        if (!tx.commit()) return store_error(db_, "committing migration " + std::to_string(v + 1));
    }
    return {};
}

Result<void> SqliteStore::add_enrollment_token(const EnrollmentToken& t, const std::string& token_hash) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "INSERT INTO enrollment_tokens (id, token_hash, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
    if (!s.ok()) return store_error(db_, "preparing a token insert");
    s.bind(1, t.id).bind(2, token_hash).bind(3, t.label).bind(4, t.created_at).bind(5, t.expires_at);
    if (s.step() != SQLITE_DONE) return store_error(db_, "storing enrollment token " + t.id);
    return {};
}

Result<std::vector<EnrollmentToken>> SqliteStore::list_enrollment_tokens() {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT id, label, created_at, expires_at, used_at, used_by, revoked_at FROM enrollment_tokens ORDER BY created_at, id");
    if (!s.ok()) return store_error(db_, "listing enrollment tokens");
    std::vector<EnrollmentToken> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(token_from(s));
    if (rc != SQLITE_DONE) return store_error(db_, "listing enrollment tokens");
    return out;
}

Result<void> SqliteStore::revoke_enrollment_token(const std::string& id, std::int64_t now) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
    if (!s.ok()) return store_error(db_, "preparing a token revocation");
    s.bind(1, now).bind(2, id);
    if (s.step() != SQLITE_DONE) return store_error(db_, "revoking enrollment token " + id);
    if (sqlite3_changes(db_) == 0) return fail("not_found", "no enrollment token has the id " + id + " (see `ztna-admin tokens list`)");
    return {};
}

Result<Device> SqliteStore::enroll_device(const std::string& token_hash, Device device, std::int64_t now) {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (!tx.ok()) return store_error(db_, "starting an enrollment");
    EnrollmentToken t;
    {
        Stmt s(db_, "SELECT id, label, created_at, expires_at, used_at, used_by, revoked_at FROM enrollment_tokens WHERE token_hash = ?");
        if (!s.ok()) return store_error(db_, "looking up an enrollment token");
        s.bind(1, token_hash);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return fail("token_unknown", "this enrollment token is not known to the controller");
        if (rc != SQLITE_ROW) return store_error(db_, "looking up an enrollment token");
        t = token_from(s);
    }
    if (t.revoked_at) return fail("token_revoked", "this enrollment token (" + t.id + ") was revoked by an administrator");
    if (t.used_at) return fail("token_used", "this enrollment token (" + t.id + ") was already used; each token enrolls one device");
    if (now >= t.expires_at) return fail("token_expired", "this enrollment token (" + t.id + ") has expired");
    {
        Stmt s(db_, "SELECT id FROM devices WHERE public_key = ?");
        if (!s.ok()) return store_error(db_, "looking up a device key");
        s.bind(1, device.public_key);
        const int rc = s.step();
        if (rc == SQLITE_ROW) return fail("device_key_exists", "a device with this public key is already enrolled (" + s.text(0) + ")");
        if (rc != SQLITE_DONE) return store_error(db_, "looking up a device key");
    }
    device.enrolled_at = now;
    device.token_id = t.id;
    device.revoked_at.reset();
    {
        Stmt s(db_, "INSERT INTO devices (id, public_key, hostname, platform, enrolled_at, token_id) VALUES (?, ?, ?, ?, ?, ?)");
        if (!s.ok()) return store_error(db_, "preparing a device insert");
        s.bind(1, device.id).bind(2, device.public_key).bind(3, device.hostname).bind(4, device.platform).bind(5, now).bind(6, t.id);
        if (s.step() != SQLITE_DONE) return store_error(db_, "storing device " + device.id);
    }
    {
        Stmt s(db_, "UPDATE enrollment_tokens SET used_at = ?, used_by = ? WHERE id = ?");
        if (!s.ok()) return store_error(db_, "preparing a token update");
        s.bind(1, now).bind(2, device.id).bind(3, t.id);
        if (s.step() != SQLITE_DONE) return store_error(db_, "marking token " + t.id + " used");
    }
    AuditEvent e;
    e.at = now;
    e.kind = "enroll";
    e.actor = "device";
    e.device_id = device.id;
    e.outcome = "ok";
    e.detail = "{\"token_id\":\"" + t.id + "\"}";  // ids are [a-z0-9_] (see ids.h)
    if (auto r = append_audit_locked(e); !r) return Unexpected<Error>{r.error()};
    if (!tx.commit()) return store_error(db_, "committing the enrollment of " + device.id);
    return device;
}

Result<std::vector<Device>> SqliteStore::list_devices() {
    std::lock_guard lock(mu_);
    const std::string sql = std::string("SELECT ") + kDeviceColumns + " FROM devices ORDER BY enrolled_at, id";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return store_error(db_, "listing devices");
    std::vector<Device> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(device_from(s));
    if (rc != SQLITE_DONE) return store_error(db_, "listing devices");
    return out;
}

Result<std::optional<Device>> SqliteStore::find_device(const std::string& id) {
    std::lock_guard lock(mu_);
    const std::string sql = std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id = ?";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return store_error(db_, "looking up a device");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<Device>(device_from(s));
    if (rc == SQLITE_DONE) return std::optional<Device>();
    return store_error(db_, "looking up device " + id);
}

Result<void> SqliteStore::revoke_device(const std::string& id, std::int64_t now) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
    if (!s.ok()) return store_error(db_, "preparing a device revocation");
    s.bind(1, now).bind(2, id);
    if (s.step() != SQLITE_DONE) return store_error(db_, "revoking device " + id);
    if (sqlite3_changes(db_) == 0) return fail("not_found", "no device has the id " + id + " (see `ztna-admin devices list`)");
    return {};
}

Result<User> SqliteStore::upsert_user(const std::string& subject, const std::string& email, std::int64_t now) {
    std::lock_guard lock(mu_);
    {
        Stmt s(db_, "INSERT INTO users (subject, email, first_seen) VALUES (?, ?, ?) "
                    "ON CONFLICT(subject) DO UPDATE SET email = excluded.email");
        if (!s.ok()) return store_error(db_, "preparing a user upsert");
        s.bind(1, subject).bind(2, email).bind(3, now);
        if (s.step() != SQLITE_DONE) return store_error(db_, "storing user " + subject);
    }
    Stmt s(db_, "SELECT subject, email, first_seen, disabled_at FROM users WHERE subject = ?");
    if (!s.ok()) return store_error(db_, "reading a user");
    s.bind(1, subject);
    if (s.step() != SQLITE_ROW) return store_error(db_, "reading user " + subject);
    return user_from(s);
}

Result<std::vector<User>> SqliteStore::list_users() {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT subject, email, first_seen, disabled_at FROM users ORDER BY email, subject");
    if (!s.ok()) return store_error(db_, "listing users");
    std::vector<User> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(user_from(s));
    if (rc != SQLITE_DONE) return store_error(db_, "listing users");
    return out;
}

Result<std::optional<User>> SqliteStore::find_user(const std::string& subject) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT subject, email, first_seen, disabled_at FROM users WHERE subject = ?");
    if (!s.ok()) return store_error(db_, "reading a user");
    s.bind(1, subject);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<User>(user_from(s));
    if (rc == SQLITE_DONE) return std::optional<User>();
    return store_error(db_, "reading user " + subject);
}

Result<void> SqliteStore::set_user_disabled(const std::string& who, bool disabled, std::int64_t now) {
    std::lock_guard lock(mu_);
    {
        // An email names a user only when exactly one subject has it (emails
        // come from identity providers and are not unique across issuers).
        Stmt c(db_, "SELECT COUNT(*) FROM users WHERE email = ? AND subject <> ?");
        if (!c.ok()) return store_error(db_, "counting users");
        c.bind(1, who).bind(2, who);
        if (c.step() != SQLITE_ROW) return store_error(db_, "counting users");
        if (c.integer(0) > 1)
            return fail("ambiguous", "several users have the email " + who + "; name one by its subject (see `ztna-admin users list`)");
    }
    Stmt s(db_, disabled ? "UPDATE users SET disabled_at = COALESCE(disabled_at, ?1) WHERE subject = ?2 OR email = ?2"
                         : "UPDATE users SET disabled_at = NULL WHERE (subject = ?2 OR email = ?2) AND ?1 IS NOT NULL");
    if (!s.ok()) return store_error(db_, "preparing a user update");
    s.bind(1, now).bind(2, who);
    if (s.step() != SQLITE_DONE) return store_error(db_, "updating user " + who);
    if (sqlite3_changes(db_) == 0) {
        return fail("not_found", "no user is known as " + who + "; users appear after their first sign-in (see `ztna-admin users list`)");
    }
    return {};
}

namespace {

constexpr const char* kSessionColumns = "id, user, device_id, email, groups, amr, created_at, expires_at, ended_at, end_reason";
constexpr const char* kGrantColumns =
    "id, session_id, user, device_id, app, gateway, agent_public_key, tunnel_address, created_at, expires_at, ended_at, end_reason";

Session session_from(const Stmt& s) {
    Session x;
    x.id = s.text(0);
    x.user = s.text(1);
    x.device_id = s.text(2);
    x.email = s.text(3);
    x.groups = s.text(4);
    x.amr = s.text(5);
    x.created_at = s.integer(6);
    x.expires_at = s.integer(7);
    x.ended_at = s.opt_integer(8);
    x.end_reason = s.text(9);
    return x;
}

Grant grant_from(const Stmt& s) {
    Grant g;
    g.id = s.text(0);
    g.session_id = s.text(1);
    g.user = s.text(2);
    g.device_id = s.text(3);
    g.app = s.text(4);
    g.gateway = s.text(5);
    g.agent_public_key = s.text(6);
    g.tunnel_address = s.text(7);
    g.created_at = s.integer(8);
    g.expires_at = s.integer(9);
    g.ended_at = s.opt_integer(10);
    g.end_reason = s.text(11);
    return g;
}

}  // namespace

Result<void> SqliteStore::add_session(const Session& x, const std::string& token_hash) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "INSERT INTO sessions (id, token_hash, user, device_id, email, groups, amr, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return store_error(db_, "preparing a session insert");
    s.bind(1, x.id).bind(2, token_hash).bind(3, x.user).bind(4, x.device_id).bind(5, x.email).bind(6, x.groups)
        .bind(7, x.amr).bind(8, x.created_at).bind(9, x.expires_at);
    if (s.step() != SQLITE_DONE) return store_error(db_, "storing session " + x.id);
    return {};
}

Result<std::optional<Session>> SqliteStore::find_session_by_token(const std::string& token_hash) {
    std::lock_guard lock(mu_);
    const std::string sql = std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE token_hash = ?";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return store_error(db_, "looking up a session");
    s.bind(1, token_hash);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<Session>(session_from(s));
    if (rc == SQLITE_DONE) return std::optional<Session>();
    return store_error(db_, "looking up a session");
}

Result<std::vector<Session>> SqliteStore::live_sessions() {
    std::lock_guard lock(mu_);
    const std::string sql = std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE ended_at IS NULL ORDER BY created_at";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return store_error(db_, "listing sessions");
    std::vector<Session> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(session_from(s));
    if (rc != SQLITE_DONE) return store_error(db_, "listing sessions");
    return out;
}

Result<void> SqliteStore::end_session(const std::string& id, std::int64_t now, const std::string& reason) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL");
    if (!s.ok()) return store_error(db_, "preparing a session end");
    s.bind(1, now).bind(2, reason).bind(3, id);
    if (s.step() != SQLITE_DONE) return store_error(db_, "ending session " + id);
    return {};
}

Result<void> SqliteStore::extend_session(const std::string& id, std::int64_t expires_at, const std::string& groups,
                                         const std::string& amr) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE sessions SET expires_at = ?, groups = ?, amr = ? WHERE id = ? AND ended_at IS NULL");
    if (!s.ok()) return store_error(db_, "preparing a session refresh");
    s.bind(1, expires_at).bind(2, groups).bind(3, amr).bind(4, id);
    if (s.step() != SQLITE_DONE) return store_error(db_, "refreshing session " + id);
    if (sqlite3_changes(db_) != 1) return fail("signed_out", "session " + id + " has ended");
    return {};
}

Result<void> SqliteStore::add_grant(const Grant& g) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "INSERT INTO grants (id, session_id, user, device_id, app, gateway, agent_public_key, tunnel_address, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return store_error(db_, "preparing a grant insert");
    s.bind(1, g.id).bind(2, g.session_id).bind(3, g.user).bind(4, g.device_id).bind(5, g.app).bind(6, g.gateway)
        .bind(7, g.agent_public_key).bind(8, g.tunnel_address).bind(9, g.created_at).bind(10, g.expires_at);
    const int rc = s.step();
    if (rc == SQLITE_CONSTRAINT && sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
        const std::string m = sqlite3_errmsg(db_);
        if (m.find("agent_public_key") != std::string::npos)
            return fail("key_taken", "a live grant already uses this WireGuard public key; make a fresh key pair for each grant");
        return fail("address_taken", "the tunnel address " + g.tunnel_address + " is in use on gateway " + g.gateway);
    }
    if (rc != SQLITE_DONE) return store_error(db_, "storing grant " + g.id);
    return {};
}

Result<std::optional<Grant>> SqliteStore::find_grant(const std::string& id) {
    std::lock_guard lock(mu_);
    const std::string sql = std::string("SELECT ") + kGrantColumns + " FROM grants WHERE id = ?";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return store_error(db_, "looking up a grant");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<Grant>(grant_from(s));
    if (rc == SQLITE_DONE) return std::optional<Grant>();
    return store_error(db_, "looking up grant " + id);
}

Result<std::vector<Grant>> SqliteStore::live_grants() {
    std::lock_guard lock(mu_);
    const std::string sql = std::string("SELECT ") + kGrantColumns + " FROM grants WHERE ended_at IS NULL ORDER BY created_at, id";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return store_error(db_, "listing grants");
    std::vector<Grant> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(grant_from(s));
    if (rc != SQLITE_DONE) return store_error(db_, "listing grants");
    return out;
}

Result<void> SqliteStore::renew_grant(const std::string& id, std::int64_t expires_at) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE grants SET expires_at = ? WHERE id = ? AND ended_at IS NULL");
    if (!s.ok()) return store_error(db_, "preparing a grant renewal");
    s.bind(1, expires_at).bind(2, id);
    if (s.step() != SQLITE_DONE) return store_error(db_, "renewing grant " + id);
    if (sqlite3_changes(db_) == 0) return fail("not_found", "no live grant has the id " + id);
    return {};
}

Result<bool> SqliteStore::end_grant(const std::string& id, std::int64_t now, const std::string& reason) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE grants SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL");
    if (!s.ok()) return store_error(db_, "preparing a grant end");
    s.bind(1, now).bind(2, reason).bind(3, id);
    if (s.step() != SQLITE_DONE) return store_error(db_, "ending grant " + id);
    return sqlite3_changes(db_) > 0;
}

Result<std::int64_t> SqliteStore::append_audit(const AuditEvent& e) {
    std::lock_guard lock(mu_);
    return append_audit_locked(e);
}

Result<std::int64_t> SqliteStore::append_audit_locked(const AuditEvent& e) {
    Stmt s(db_, "INSERT INTO audit (at, kind, actor, user, device_id, app, outcome, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return store_error(db_, "preparing an audit insert");
    s.bind(1, e.at).bind(2, e.kind).bind(3, e.actor).bind(4, e.user).bind(5, e.device_id).bind(6, e.app)
        .bind(7, e.outcome).bind(8, e.reason).bind(9, e.detail.empty() ? std::string("{}") : e.detail);
    if (s.step() != SQLITE_DONE) return store_error(db_, "appending an audit event");
    return std::int64_t(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<AuditEvent>> SqliteStore::query_audit(const AuditQuery& q) {
    std::lock_guard lock(mu_);
    // Each filter is bound, never spliced: "?N IS NULL OR column = ?N".
    Stmt s(db_, "SELECT id, at, kind, actor, user, device_id, app, outcome, reason, detail FROM audit "
                "WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR app = ?2) AND (?3 IS NULL OR device_id = ?3) "
                "AND (?4 IS NULL OR at >= ?4) ORDER BY id DESC LIMIT ?5");  // the newest, returned oldest first
    if (!s.ok()) return store_error(db_, "querying the audit log");
    s.bind(1, q.user).bind(2, q.app).bind(3, q.device_id).bind(4, q.since).bind(5, std::int64_t(q.limit));
    std::vector<AuditEvent> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        AuditEvent e;
        e.id = s.integer(0);
        e.at = s.integer(1);
        e.kind = s.text(2);
        e.actor = s.text(3);
        e.user = s.text(4);
        e.device_id = s.text(5);
        e.app = s.text(6);
        e.outcome = s.text(7);
        e.reason = s.text(8);
        e.detail = s.text(9);
        out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return store_error(db_, "querying the audit log");
    std::reverse(out.begin(), out.end());
    return out;
}

}  // namespace ztna::controller
