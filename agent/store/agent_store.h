// The agent daemon's local store: what the agent remembers between restarts
// (device id, the signed-in session, the grants it last knew, posture history,
// the access log).
//
// SQLite in WAL mode with foreign keys on and numbered migrations recorded in
// PRAGMA user_version. The file is mode 0600 and a directory the store creates
// is 0700; an existing directory is left as it is (it may be shared, e.g. /tmp).
//
// Durability: synchronous=NORMAL for the logs (a write survives a crash of the
// daemon; after a power cut the last few log rows may be missing, never the
// file), and FULL for every write to `state` and `grants`, so a sign-out
// (clear_session) or a removed grant cannot come back after a power cut.
//
// Thread safety: one connection, and every public call takes an internal
// mutex, so the IPC thread and the main loop may call at the same time.
//
// Nothing here reads a clock: every timestamp (Unix seconds) comes from the
// caller. Nothing stored here is a private key; the session token is stored
// (the file is root-only) but never appears in an error message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ztna/result.h"

struct sqlite3;

namespace ztna::agent {

// Keys of the state table. Every key of the signed-in session starts with
// "session." so that clear_session() removes all of them together.
namespace state_key {
inline constexpr const char* kDeviceId = "device_id";
inline constexpr const char* kSessionToken = "session.token";
inline constexpr const char* kSessionId = "session.id";
inline constexpr const char* kSessionExpiresAt = "session.expires_at";
inline constexpr const char* kSessionSubject = "session.user.subject";
inline constexpr const char* kSessionEmail = "session.user.email";
inline constexpr const char* kSessionGroups = "session.user.groups";  // a JSON array
inline constexpr const char* kSessionController = "session.controller_url";
}  // namespace state_key

// A live grant as last known. json is the grant as the controller sent it (a
// JSON object); it never holds a private key: the agent keeps per-grant keys in
// memory only, and upsert_grant refuses JSON with a private key member.
struct GrantRow {
    std::string id;
    std::string app;
    std::int64_t expires_at = 0;
    std::string tunnel_address;
    std::string json;
};

struct PostureRow {
    std::int64_t id = 0;  // set by the store (insertion order); ignored by add_posture
    std::int64_t at = 0;
    std::string overall;       // "pass" | "fail" | "unknown"
    std::string results_json;  // any JSON document
};

struct AccessRow {
    std::int64_t id = 0;  // set by the store (insertion order); ignored by log_access
    std::int64_t at = 0;
    std::string app;
    std::string outcome;  // "allow" | "deny" | "connected" | "revoked" | ...
    std::string reason;   // a reason code, may be empty
    std::string message;
};

struct OpenReport {
    bool rebuilt = false;
    std::string problem;   // what was wrong, for the log and `ztnactl status`
    std::string moved_to;  // where the broken file went
};

// Errors carry code "store_error", "store_corrupt" (the file is damaged: close
// the store and open it again, which rebuilds it) or "bad_input".
class AgentStore {
public:
    static constexpr std::size_t kMaxPostureRows = 1000;
    static constexpr std::size_t kMaxAccessRows = 10000;
    static constexpr int kMaxCorruptCopies = 3;

    // Opens the database at path, creating it and its directory when missing.
    // A damaged file (not a database, truncated, failing integrity_check, an
    // unrelated schema, a schema newer than this agent, a table missing
    // columns) is renamed to PATH.corrupt-<now> (with its -wal and -shm) and a
    // fresh database is created: report->rebuilt, ->problem and ->moved_to say
    // so. At most kMaxCorruptCopies such copies are kept (oldest deleted).
    // Fails, naming the path and what to do, when the path cannot be created
    // or opened (parent is a file, read-only, a directory in its place...).
    // report may be null. The first form names the copy with the wall clock.
    static Result<std::unique_ptr<AgentStore>> open(const std::string& path, OpenReport* report);
    static Result<std::unique_ptr<AgentStore>> open(const std::string& path, OpenReport* report, std::int64_t now);
    ~AgentStore();
    AgentStore(const AgentStore&) = delete;
    AgentStore& operator=(const AgentStore&) = delete;

    const std::string& path() const { return path_; }
    Result<int> schema_version();

    // state
    Result<void> put_state(const std::string& key, const std::string& value);
    Result<std::optional<std::string>> get_state(const std::string& key);
    Result<void> delete_state(const std::string& key);
    Result<void> clear_session();  // deletes every key starting with "session."

    // grants
    Result<void> upsert_grant(const GrantRow& grant);
    Result<bool> remove_grant(const std::string& id);  // false when there was none
    Result<std::vector<GrantRow>> list_grants();       // by expires_at, then id
    Result<void> clear_grants();

    // posture history: the newest kMaxPostureRows rows are kept
    Result<void> add_posture(const PostureRow& row);
    // The newest `limit` rows, returned oldest first.
    Result<std::vector<PostureRow>> recent_posture(std::size_t limit);

    // access log: the newest kMaxAccessRows rows are kept
    Result<void> log_access(const AccessRow& row);
    // The newest `limit` rows with at >= since, returned oldest first.
    Result<std::vector<AccessRow>> recent_access(std::size_t limit, std::int64_t since = 0);

private:
    AgentStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    // Opens the file as it is. When its content is the problem, returns a null
    // store and says what was wrong in damage (the caller moves the file aside);
    // fails only for problems that moving the file would not fix.
    static Result<std::unique_ptr<AgentStore>> open_file(const std::string& path, std::string& damage);
    Result<void> check_and_migrate(std::string& damage);

    sqlite3* db_;
    std::string path_;
    std::mutex mu_;
};

}  // namespace ztna::agent
