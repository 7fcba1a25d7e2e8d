// The Store on SQLite: WAL journal, synchronous=FULL (a committed write
// survives a kill -9 and a power cut), foreign keys on, numbered schema
// migrations applied in order at open. One connection, serialized by a mutex:
// the controller's writes are small and few.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store.h"

struct sqlite3;

namespace ztna::controller {

class SqliteStore final : public Store {
public:
    // Opens (creating when missing) the database at path and migrates it to
    // the current schema. Fails with what was wrong: an unreadable file, a
    // file that is not a database, a schema newer than this controller.
    static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
    ~SqliteStore() override;

    int schema_version();

    Result<void> add_enrollment_token(const EnrollmentToken& token, const std::string& token_hash) override;
    Result<std::vector<EnrollmentToken>> list_enrollment_tokens() override;
    Result<void> revoke_enrollment_token(const std::string& id, std::int64_t now) override;
    Result<Device> enroll_device(const std::string& token_hash, Device device, std::int64_t now) override;
    Result<std::vector<Device>> list_devices() override;
    Result<std::optional<Device>> find_device(const std::string& id) override;
    Result<void> revoke_device(const std::string& id, std::int64_t now) override;
    Result<User> upsert_user(const std::string& subject, const std::string& email, std::int64_t now) override;
    Result<std::vector<User>> list_users() override;
    Result<std::optional<User>> find_user(const std::string& subject) override;
    Result<void> set_user_disabled(const std::string& subject_or_email, bool disabled, std::int64_t now) override;
    Result<void> add_session(const Session& session, const std::string& token_hash) override;
    Result<std::optional<Session>> find_session_by_token(const std::string& token_hash) override;
    Result<std::vector<Session>> live_sessions() override;
    Result<void> end_session(const std::string& id, std::int64_t now, const std::string& reason) override;
    Result<void> extend_session(const std::string& id, std::int64_t expires_at, const std::string& groups,
                                const std::string& amr) override;
    Result<void> add_grant(const Grant& grant) override;
    Result<std::optional<Grant>> find_grant(const std::string& id) override;
    Result<std::vector<Grant>> live_grants() override;
    Result<void> renew_grant(const std::string& id, std::int64_t expires_at) override;
    Result<bool> end_grant(const std::string& id, std::int64_t now, const std::string& reason) override;
    Result<std::int64_t> append_audit(const AuditEvent& event) override;
    Result<std::vector<AuditEvent>> query_audit(const AuditQuery& query) override;

private:
    SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    Result<void> migrate();
    Result<std::int64_t> append_audit_locked(const AuditEvent& event);

    sqlite3* db_;
    std::string path_;
    std::mutex mu_;
};

}  // namespace ztna::controller
