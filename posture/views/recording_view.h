// Snapshots: a RecordingView passes every read through to another view and
// keeps what succeeded; write_snapshot lays that out as a snapshot directory.
// A snapshot therefore holds exactly what the probes read, nothing more.
#pragma once

#include <string>

#include "memory_view.h"
#include "requirements.h"
#include "system_view.h"

namespace ztna::posture {

class RecordingView : public SystemView {
public:
    explicit RecordingView(const SystemView& inner) : inner_(inner), seen_(inner.platform(), inner.now()) {}

    Platform platform() const override { return inner_.platform(); }
    std::int64_t now() const override { return inner_.now(); }
    Result<std::string> file(std::string_view path, std::size_t max_bytes = limits::kMaxFileBytes) const override;
    Result<std::string> command(std::string_view name, std::string_view arg = {}) const override;
    Result<json::Value> query(std::string_view name) const override;

    const MemoryView& recorded() const { return seen_; }

private:
    const SystemView& inner_;
    mutable MemoryView seen_;
};

// Writes DIR/platform, DIR/collected_at, DIR/fs/..., DIR/cmd/..., DIR/query/...
// DIR must not exist or be empty; it is created (0755; files 0644).
Result<void> write_snapshot(const MemoryView& m, const std::string& dir);

// Evaluates every check on view through a recorder and writes what was read.
Result<void> capture_snapshot(const SystemView& view, const Requirements& req, const std::string& dir);

}  // namespace ztna::posture
