#include "agent_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "ztna/json.h"

namespace ztna::agent {

namespace {

namespace fs = std::filesystem;

// The schema, one migration per entry; entry i takes the database from version
// i to i + 1. Never edit a shipped entry: append a new one, and update
// kTables below.
const char* const kMigrations[] = {
    // 1: state, grants, posture history, access log
    R"sql(
    CREATE TABLE state (
        key             TEXT PRIMARY KEY,
        value           TEXT NOT NULL
    );
    CREATE TABLE grants (
        id              TEXT PRIMARY KEY,
        app             TEXT NOT NULL,
        expires_at      INTEGER NOT NULL,
        tunnel_address  TEXT NOT NULL,
        json            TEXT NOT NULL
    );
    CREATE TABLE posture_history (
        id              INTEGER PRIMARY KEY,
        at              INTEGER NOT NULL,
        overall         TEXT NOT NULL,
        results         TEXT NOT NULL
    );
    CREATE TABLE access_log (
        id              INTEGER PRIMARY KEY,
        at              INTEGER NOT NULL,
        app             TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        reason          TEXT NOT NULL,
        message         TEXT NOT NULL
    );
    )sql",
};
constexpr int kSchemaVersion = int(sizeof(kMigrations) / sizeof(kMigrations[0]));

// The columns every table has at kSchemaVersion. open() checks them, so a file
// that claims the current version but lacks a column is rebuilt, not used.
struct TableColumns {
    const char* table;
    std::vector<const char*> columns;
};
const TableColumns kTables[] = {
    {"state", {"key", "value"}},
    {"grants", {"id", "app", "expires_at", "tunnel_address", "json"}},
    {"posture_history", {"id", "at", "overall", "results"}},
    {"access_log", {"id", "at", "app", "outcome", "reason", "message"}},
};

// Sidecar files SQLite keeps next to the database.
const char* const kSidecars[] = {"-wal", "-shm", "-journal"};

bool is_corruption(int extended_code) {
    const int rc = extended_code & 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

std::string what_to_do(const std::string& path) {
    return "Check that the disk is not full and that " + path +
           " and its directory are writable by the agent; if it keeps failing, stop the agent and move the file away "
           "(the agent then starts a new one and fetches its state again from the controller).";
}

// An error on an open database: what failed, on which path and table, and what
// to do. Only SQLite's message and names chosen by the code go in, never a
// stored value (SQLite's messages do not quote bound values).
Unexpected<Error> db_error(sqlite3* db, const std::string& path, const std::string& what) {
    const std::string m = "agent database " + path + ": " + what + " failed: " + sqlite3_errmsg(db) + ". ";
    if (is_corruption(sqlite3_extended_errcode(db))) {
        return fail("store_corrupt", m + "The file is damaged: restart the agent, which moves it aside and creates a new one.");
    }
    return fail("store_error", m + what_to_do(path));
}

Unexpected<Error> bad_input(const std::string& path, const std::string& what) {
    return fail("bad_input", "agent database " + path + ": " + what);
}

// One prepared statement, finalized when it goes out of scope. Binds are 1-based.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    bool ok() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }
    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return sqlite3_step(stmt_); }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, std::size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

private:
    sqlite3_stmt* stmt_ = nullptr;
    int rc_ = SQLITE_ERROR;
};

bool exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

// BEGIN IMMEDIATE ... COMMIT; rolled back unless committed.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : db_(db), ok_(exec(db, "BEGIN IMMEDIATE")) {}
    ~Transaction() {
        if (ok_ && !committed_) exec(db_, "ROLLBACK");
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    bool ok() const { return ok_; }
    bool commit() { return committed_ = exec(db_, "COMMIT"); }

private:
    sqlite3* db_;
    bool ok_;
    bool committed_ = false;
};

// synchronous=FULL for the writes in its scope (state and grants: a sign-out
// or a removed grant must not come back after a power cut); NORMAL again after.
// Declare it before the Transaction so that it outlives the COMMIT.
class FullSync {
public:
    explicit FullSync(sqlite3* db) : db_(db) { exec(db_, "PRAGMA synchronous=FULL"); }
    ~FullSync() { exec(db_, "PRAGMA synchronous=NORMAL"); }
    FullSync(const FullSync&) = delete;
    FullSync& operator=(const FullSync&) = delete;

private:
    sqlite3* db_;
};

std::string errno_text(int e) { return std::strerror(e); }

std::string shorten(std::string s, std::size_t max) {
    if (s.size() > max) s = s.substr(0, max) + "...";
    return s;
}

bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

// Creates the missing directories above path, each mode 0700. Directories that
// already exist are left as they are.
Result<void> make_parent_dirs(const std::string& path) {
    const fs::path dir = fs::path(path).parent_path();
    std::vector<fs::path> missing;
    for (fs::path d = dir; !d.empty(); d = d.parent_path()) {
        struct stat st;
        if (::stat(d.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                return fail("store_error", "cannot create the agent database " + path + ": " + d.string() +
                                               " is not a directory. Remove or rename " + d.string() +
                                               ", or configure another database path.");
            }
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            return fail("store_error", "cannot create the agent database " + path + ": cannot inspect " + d.string() + ": " +
                                           errno_text(errno) + ". Check the permissions of its parent directories.");
        }
        missing.push_back(d);
        if (d == d.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
            return fail("store_error", "cannot create the directory " + it->string() + " for the agent database " + path + ": " +
                                           errno_text(errno) + ". Create it (mode 0700, owned by the agent's user) or configure "
                                           "another database path on a writable filesystem.");
        }
        // mkdir's mode is filtered by the umask; set it exactly.
        if (::chmod(it->c_str(), 0700) != 0) {
            return fail("store_error", "cannot set mode 0700 on " + it->string() + ", the directory of the agent database " +
                                           path + ": " + errno_text(errno) + ". Check the filesystem and its mount options.");
        }
    }
    return {};
}

// Makes sure path is a regular file of mode 0600 (creating it empty when
// missing), with its directory, and that existing sidecars are 0600 too.
// SQLite gives the -wal and -shm files it creates the mode of the database.
Result<void> prepare_file(const std::string& path) {
    if (path.empty() || fs::path(path).filename().empty()) {
        return fail("store_error", "the agent database path '" + path +
                                       "' does not name a file; configure a path such as /var/lib/ztna/agent.db.");
    }
    if (auto r = make_parent_dirs(path); !r) return r;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            return fail("store_error", "cannot use " + path + " as the agent database: it is " +
                                           (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                                           ". Move it away or configure another database path.");
        }
    } else if (errno == ENOENT) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            return fail("store_error", "cannot create the agent database " + path + ": " + errno_text(errno) + ". Make " +
                                           fs::path(path).parent_path().string() +
                                           " writable by the agent, or configure another database path on a writable filesystem.");
        }
        if (fd >= 0) ::close(fd);
    } else {
        return fail("store_error", "cannot inspect the agent database " + path + ": " + errno_text(errno) +
                                       ". Check the permissions of its directory.");
    }
    for (const std::string& p : {path, path + "-wal", path + "-shm"}) {
        if (::stat(p.c_str(), &st) != 0 || (st.st_mode & 07777) == 0600) continue;
        if (::chmod(p.c_str(), 0600) != 0) {
            return fail("store_error", "cannot set mode 0600 on " + p + ": " + errno_text(errno) +
                                           ". The agent database holds the session: fix its owner and mode, or move it away.");
        }
    }
    return {};
}

// Renames path (and its sidecars) to path.corrupt-<now>, or .corrupt-<now>.<n>
// when that name is taken. Returns the new name of the database file.
Result<std::string> move_aside(const std::string& path, std::int64_t now) {
    const std::string base = path + ".corrupt-" + std::to_string(now);
    std::string dst = base;
    for (int n = 1; exists(dst) || exists(dst + "-wal") || exists(dst + "-shm"); ++n) dst = base + "." + std::to_string(n);
    if (::rename(path.c_str(), dst.c_str()) != 0) {
        return fail("store_error", "could not be moved to " + dst + ": " + errno_text(errno) +
                                       ". Move or delete it by hand, then restart the agent.");
    }
    for (const char* suffix : kSidecars) {
        const std::string from = path + suffix;
        if (!exists(from)) continue;
        if (::rename(from.c_str(), (dst + suffix).c_str()) == 0) continue;
        // A stale -wal left beside the new database would be replayed into it.
        if (::unlink(from.c_str()) != 0) {
            return fail("store_error", "was moved to " + dst + " but " + from + " could not be moved or deleted: " +
                                           errno_text(errno) + ". Delete " + from + " by hand, then restart the agent.");
        }
    }
    return dst;
}

// Deletes all but the newest `keep` copies path.corrupt-<t>[.<n>] (each with
// its sidecars). Best effort: a copy that cannot be deleted stays.
void prune_corrupt_copies(const std::string& path, int keep) {
    const fs::path p(path);
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    const std::string prefix = p.filename().string() + ".corrupt-";
    std::map<std::pair<std::int64_t, std::int64_t>, std::vector<fs::path>> copies;  // (time, n) -> files
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        std::string_view rest = std::string_view(name).substr(prefix.size());
        for (std::string_view suffix : kSidecars) {
            if (rest.size() > suffix.size() && rest.substr(rest.size() - suffix.size()) == suffix) {
                rest.remove_suffix(suffix.size());
                break;
            }
        }
        std::int64_t t = 0, n = 0;
        const char* end_t = rest.data() + rest.size();
        auto [pt, et] = std::from_chars(rest.data(), end_t, t);
        if (et != std::errc() || pt == rest.data()) continue;
        if (pt != end_t) {
            if (*pt != '.') continue;
            auto [pn, en] = std::from_chars(pt + 1, end_t, n);
            if (en != std::errc() || pn == pt + 1 || pn != end_t) continue;
        }
        copies[{t, n}].push_back(it->path());
    }
    std::size_t excess = copies.size() > std::size_t(keep) ? copies.size() - std::size_t(keep) : 0;
    for (auto it = copies.begin(); excess > 0 && it != copies.end(); ++it, --excess) {
        for (const auto& f : it->second) fs::remove(f, ec);
    }
}

std::string lowered_letters(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (std::isalnum(static_cast<unsigned char>(c))) out += char(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// True when some member of v, at any depth, is named like a private key
// ("private_key", "privateKey", "agent-private-key"...).
bool holds_private_key(const json::Value& v) {
    if (v.is_object()) {
        for (const auto& [key, member] : v.as_object()) {
            if (lowered_letters(key).find("privatekey") != std::string::npos || holds_private_key(member)) return true;
        }
    } else if (v.is_array()) {
        for (const auto& member : v.as_array()) {
            if (holds_private_key(member)) return true;
        }
    }
    return false;
}

}  // namespace

Result<std::unique_ptr<AgentStore>> AgentStore::open(const std::string& path, OpenReport* report) {
    return open(path, report, std::int64_t(std::time(nullptr)));
}

Result<std::unique_ptr<AgentStore>> AgentStore::open(const std::string& path, OpenReport* report, std::int64_t now) {
    if (report) *report = OpenReport{};
    if (auto r = prepare_file(path); !r) return Unexpected<Error>{r.error()};
    std::string damage;
    auto store = open_file(path, damage);
    if (!store || damage.empty()) return store;

    // The content is the problem: keep the file for a post-mortem, start anew.
    const std::string what = "the agent database " + path + " " + damage;
    auto moved = move_aside(path, now);
    if (!moved) return fail("store_error", what + " and " + moved.error().message);
    prune_corrupt_copies(path, kMaxCorruptCopies);
    if (auto r = prepare_file(path); !r) return Unexpected<Error>{r.error()};
    std::string again;
    auto fresh = open_file(path, again);
    if (!fresh) return fail(fresh.error().code, what + "; it was moved to " + *moved + ", but " + fresh.error().message);
    if (!again.empty()) {
        return fail("store_error", "the new agent database " + path + " " + again +
                                       " right after it was created; check the disk and the filesystem holding it.");
    }
    if (report) {
        report->rebuilt = true;
        report->problem = "The" + what.substr(3) + ", so it was moved to " + *moved + " and a new database was created.";
        report->moved_to = *moved;
    }
    return fresh;
}

Result<std::unique_ptr<AgentStore>> AgentStore::open_file(const std::string& path, std::string& damage) {
    damage.clear();
    sqlite3* db = nullptr;
    // No SQLITE_OPEN_CREATE: prepare_file made the file, with its mode.
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return fail("store_error", "cannot open the agent database " + path + ": " + m + ". " + what_to_do(path));
    }
    std::unique_ptr<AgentStore> store(new AgentStore(db, path));
    sqlite3_busy_timeout(db, 5000);
    if (auto r = store->check_and_migrate(damage); !r) return Unexpected<Error>{r.error()};
    if (!damage.empty()) {
        // Leave a damaged file as found: no checkpoint of its WAL on close.
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        return std::unique_ptr<AgentStore>();
    }
    return store;
}

Result<void> AgentStore::check_and_migrate(std::string& damage) {
    std::lock_guard lock(mu_);
    // A failure caused by the file's content sets damage (and is no error);
    // anything else (locked, read-only, I/O) is an error and the file stays.
    auto judge = [&](const std::string& what) -> Result<void> {
        const int rc = sqlite3_extended_errcode(db_) & 0xff;
        if (rc == SQLITE_NOTADB) {
            damage = std::string("is not a SQLite database (") + sqlite3_errmsg(db_) + ")";
            return {};
        }
        if (rc == SQLITE_CORRUPT) {
            damage = "is damaged (" + std::string(sqlite3_errmsg(db_)) + " while " + what + ")";
            return {};
        }
        return db_error(db_, path_, what);
    };

    // Judge the file before writing anything to it.
    {
        Stmt s(db_, "PRAGMA integrity_check(10)");
        if (!s.ok()) return judge("checking its integrity");
        std::vector<std::string> issues;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) issues.push_back(s.text(0));
        if (rc != SQLITE_DONE) return judge("checking its integrity");
        if (issues.size() != 1 || issues[0] != "ok") {
            damage = "failed its integrity check (" + shorten(issues.empty() ? "no result" : issues[0], 160) +
                     (issues.size() > 1 ? ", and " + std::to_string(issues.size() - 1) + " more" : "") + ")";
            return {};
        }
    }
    std::int64_t version = 0;
    {
        Stmt s(db_, "PRAGMA user_version");
        if (!s.ok() || s.step() != SQLITE_ROW) return judge("reading its schema version");
        version = s.integer(0);
    }
    if (version > kSchemaVersion || version < 0) {
        damage = "has schema version " + std::to_string(version) + ", which this agent does not know (it knows 1 to " +
                 std::to_string(kSchemaVersion) + "; a newer agent wrote it)";
        return {};
    }
    if (version == 0) {
        // Version 0 is a new, empty file; anything in it belongs to someone else.
        Stmt s(db_, "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name LIMIT 4");
        if (!s.ok()) return judge("listing its tables");
        std::string names;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) names += (names.empty() ? "" : ", ") + shorten(s.text(0), 40);
        if (rc != SQLITE_DONE) return judge("listing its tables");
        if (!names.empty()) {
            damage = "is not an agent database (it holds other tables: " + names + ")";
            return {};
        }
    }

    {
        Stmt s(db_, "PRAGMA journal_mode=WAL");
        if (!s.ok() || s.step() != SQLITE_ROW) return judge("switching to WAL");
    }
    if (!exec(db_, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON")) return judge("setting its pragmas");
    for (std::int64_t v = version; v < kSchemaVersion; ++v) {
        const std::string step = "applying migration " + std::to_string(v + 1);
        Transaction tx(db_);
        if (!tx.ok()) return judge(step);
        if (!exec(db_, kMigrations[v])) return judge(step);
        const std::string set = "PRAGMA user_version=" + std::to_string(v + 1);
        if (!exec(db_, set.c_str())) return judge(step);
        if (!tx.commit()) return judge(step);
    }
    for (const auto& t : kTables) {
        Stmt s(db_, "SELECT name FROM pragma_table_info(?1)");
        if (!s.ok()) return judge(std::string("reading the columns of table ") + t.table);
        s.bind(1, std::string(t.table));
        std::set<std::string> have;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) have.insert(s.text(0));
        if (rc != SQLITE_DONE) return judge(std::string("reading the columns of table ") + t.table);
        if (have.empty()) {
            damage = std::string("has no table ") + t.table + " although its schema version says it should";
            return {};
        }
        for (const char* c : t.columns) {
            if (!have.count(c)) {
                damage = std::string("lacks column ") + c + " in table " + t.table;
                return {};
            }
        }
    }
    return {};
}

AgentStore::~AgentStore() { sqlite3_close(db_); }

Result<int> AgentStore::schema_version() {
    std::lock_guard lock(mu_);
    Stmt s(db_, "PRAGMA user_version");
    if (!s.ok() || s.step() != SQLITE_ROW) return db_error(db_, path_, "reading the schema version");
    return int(s.integer(0));
}

// ---- state ----

Result<void> AgentStore::put_state(const std::string& key, const std::string& value) {
    if (key.empty()) return bad_input(path_, "a state key must not be empty (a bug in the caller).");
    std::lock_guard lock(mu_);
    FullSync durable(db_);
    Stmt s(db_, "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!s.ok()) return db_error(db_, path_, "preparing a write to table state");
    s.bind(1, key).bind(2, value);
    if (s.step() != SQLITE_DONE) return db_error(db_, path_, "storing key " + key + " in table state");
    return {};
}

Result<std::optional<std::string>> AgentStore::get_state(const std::string& key) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT value FROM state WHERE key = ?1");
    if (!s.ok()) return db_error(db_, path_, "preparing a read of table state");
    s.bind(1, key);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(s.text(0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return db_error(db_, path_, "reading key " + key + " from table state");
}

Result<void> AgentStore::delete_state(const std::string& key) {
    std::lock_guard lock(mu_);
    FullSync durable(db_);
    Stmt s(db_, "DELETE FROM state WHERE key = ?1");
    if (!s.ok()) return db_error(db_, path_, "preparing a delete from table state");
    s.bind(1, key);
    if (s.step() != SQLITE_DONE) return db_error(db_, path_, "deleting key " + key + " from table state");
    return {};
}

Result<void> AgentStore::clear_session() {
    std::lock_guard lock(mu_);
    FullSync durable(db_);
    // A range, not LIKE (where '_' is a wildcard): '/' follows '.' in byte order.
    Stmt s(db_, "DELETE FROM state WHERE key >= 'session.' AND key < 'session/'");
    if (!s.ok()) return db_error(db_, path_, "preparing the session delete on table state");
    if (s.step() != SQLITE_DONE) return db_error(db_, path_, "deleting the session keys from table state");
    return {};
}

// ---- grants ----

Result<void> AgentStore::upsert_grant(const GrantRow& g) {
    if (g.id.empty()) return bad_input(path_, "a grant without an id cannot be stored in table grants (a bug in the caller).");
    auto doc = json::parse(g.json);
    if (!doc || !doc->is_object()) {
        return bad_input(path_, "grant " + g.id + " was not stored in table grants: its JSON is not an object (" +
                                    (doc ? std::string("another JSON type") : doc.error().message) +
                                    "). Store the grant as the controller sent it.");
    }
    if (holds_private_key(*doc)) {
        return bad_input(path_, "grant " + g.id + " was not stored in table grants: its JSON has a private key member. "
                                "Per-grant private keys stay in memory; remove the key before storing the grant.");
    }
    std::lock_guard lock(mu_);
    FullSync durable(db_);
    Stmt s(db_, "INSERT INTO grants (id, app, expires_at, tunnel_address, json) VALUES (?1, ?2, ?3, ?4, ?5) "
                "ON CONFLICT(id) DO UPDATE SET app = excluded.app, expires_at = excluded.expires_at, "
                "tunnel_address = excluded.tunnel_address, json = excluded.json");
    if (!s.ok()) return db_error(db_, path_, "preparing a write to table grants");
    s.bind(1, g.id).bind(2, g.app).bind(3, g.expires_at).bind(4, g.tunnel_address).bind(5, g.json);
    if (s.step() != SQLITE_DONE) return db_error(db_, path_, "storing grant " + g.id + " in table grants");
    return {};
}

Result<bool> AgentStore::remove_grant(const std::string& id) {
    std::lock_guard lock(mu_);
    FullSync durable(db_);
    Stmt s(db_, "DELETE FROM grants WHERE id = ?1");
    if (!s.ok()) return db_error(db_, path_, "preparing a delete from table grants");
    s.bind(1, id);
    if (s.step() != SQLITE_DONE) return db_error(db_, path_, "removing grant " + id + " from table grants");
    return sqlite3_changes(db_) > 0;
}

Result<std::vector<GrantRow>> AgentStore::list_grants() {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT id, app, expires_at, tunnel_address, json FROM grants ORDER BY expires_at, id");
    if (!s.ok()) return db_error(db_, path_, "preparing a read of table grants");
    std::vector<GrantRow> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        GrantRow g;
        g.id = s.text(0);
        g.app = s.text(1);
        g.expires_at = s.integer(2);
        g.tunnel_address = s.text(3);
        g.json = s.text(4);
        out.push_back(std::move(g));
    }
    if (rc != SQLITE_DONE) return db_error(db_, path_, "listing table grants");
    return out;
}

Result<void> AgentStore::clear_grants() {
    std::lock_guard lock(mu_);
    FullSync durable(db_);
    if (!exec(db_, "DELETE FROM grants")) return db_error(db_, path_, "clearing table grants");
    return {};
}

// ---- posture history ----

Result<void> AgentStore::add_posture(const PostureRow& row) {
    if (row.overall != "pass" && row.overall != "fail" && row.overall != "unknown") {
        return bad_input(path_, "a posture result must be pass, fail or unknown, not '" + shorten(row.overall, 20) +
                                    "'; it was not stored in table posture_history.");
    }
    if (auto doc = json::parse(row.results_json); !doc) {
        return bad_input(path_, "the posture results are not JSON (" + doc.error().message +
                                    "); they were not stored in table posture_history.");
    }
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (!tx.ok()) return db_error(db_, path_, "starting a write to table posture_history");
    {
        Stmt s(db_, "INSERT INTO posture_history (at, overall, results) VALUES (?1, ?2, ?3)");
        if (!s.ok()) return db_error(db_, path_, "preparing a write to table posture_history");
        s.bind(1, row.at).bind(2, row.overall).bind(3, row.results_json);
        if (s.step() != SQLITE_DONE) return db_error(db_, path_, "adding a row to table posture_history");
    }
    {
        Stmt s(db_, "DELETE FROM posture_history WHERE id <= "
                    "(SELECT id FROM posture_history ORDER BY id DESC LIMIT 1 OFFSET ?1)");
        if (!s.ok()) return db_error(db_, path_, "preparing the trim of table posture_history");
        s.bind(1, std::int64_t(kMaxPostureRows));
        if (s.step() != SQLITE_DONE) return db_error(db_, path_, "trimming table posture_history");
    }
    if (!tx.commit()) return db_error(db_, path_, "committing a write to table posture_history");
    return {};
}

Result<std::vector<PostureRow>> AgentStore::recent_posture(std::size_t limit) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT id, at, overall, results FROM posture_history ORDER BY id DESC LIMIT ?1");
    if (!s.ok()) return db_error(db_, path_, "preparing a read of table posture_history");
    s.bind(1, std::int64_t(std::min(limit, kMaxPostureRows)));
    std::vector<PostureRow> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        PostureRow p;
        p.id = s.integer(0);
        p.at = s.integer(1);
        p.overall = s.text(2);
        p.results_json = s.text(3);
        out.push_back(std::move(p));
    }
    if (rc != SQLITE_DONE) return db_error(db_, path_, "reading table posture_history");
    std::reverse(out.begin(), out.end());
    return out;
}

// ---- access log ----

Result<void> AgentStore::log_access(const AccessRow& row) {
    if (row.outcome.empty()) return bad_input(path_, "an access log row needs an outcome; it was not stored in table access_log.");
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (!tx.ok()) return db_error(db_, path_, "starting a write to table access_log");
    {
        Stmt s(db_, "INSERT INTO access_log (at, app, outcome, reason, message) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!s.ok()) return db_error(db_, path_, "preparing a write to table access_log");
        s.bind(1, row.at).bind(2, row.app).bind(3, row.outcome).bind(4, row.reason).bind(5, row.message);
        if (s.step() != SQLITE_DONE) return db_error(db_, path_, "adding a row to table access_log");
    }
    {
        Stmt s(db_, "DELETE FROM access_log WHERE id <= (SELECT id FROM access_log ORDER BY id DESC LIMIT 1 OFFSET ?1)");
        if (!s.ok()) return db_error(db_, path_, "preparing the trim of table access_log");
        s.bind(1, std::int64_t(kMaxAccessRows));
        if (s.step() != SQLITE_DONE) return db_error(db_, path_, "trimming table access_log");
    }
    if (!tx.commit()) return db_error(db_, path_, "committing a write to table access_log");
    return {};
}

Result<std::vector<AccessRow>> AgentStore::recent_access(std::size_t limit, std::int64_t since) {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT id, at, app, outcome, reason, message FROM access_log WHERE at >= ?1 ORDER BY id DESC LIMIT ?2");
    if (!s.ok()) return db_error(db_, path_, "preparing a read of table access_log");
    s.bind(1, since).bind(2, std::int64_t(std::min(limit, kMaxAccessRows)));
    std::vector<AccessRow> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        AccessRow a;
        a.id = s.integer(0);
        a.at = s.integer(1);
        a.app = s.text(2);
        a.outcome = s.text(3);
        a.reason = s.text(4);
        a.message = s.text(5);
        out.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return db_error(db_, path_, "reading table access_log");
    std::reverse(out.begin(), out.end());
    return out;
}

}  // namespace ztna::agent
