// A SystemView over a captured snapshot directory (layout in
// ../shared/design.md and posture/PROBES.md):
//   DIR/platform        linux, windows or macos
//   DIR/collected_at    when it was captured: Unix seconds (probes measure ages from it)
//   DIR/fs/...          files at their absolute paths
//   DIR/cmd/NAME        stdout of a catalogue command (NAME@ARG for one with a parameter)
//   DIR/query/NAME.json a structured query's result
//   DIR/errors/...      why a source could not be read at capture time, at
//                       errors/fs/<path>, errors/cmd/NAME, errors/query/NAME;
//                       replayed as the same error
#pragma once

#include <string>

#include "system_view.h"

namespace ztna::posture {

class SnapshotView : public SystemView {
public:
    // Reads DIR/platform and DIR/collected_at; the error says which is missing or wrong.
    static Result<SnapshotView> open(const std::string& dir);

    Platform platform() const override { return platform_; }
    std::int64_t now() const override { return now_; }
    Result<std::string> file(std::string_view path, std::size_t max_bytes = limits::kMaxFileBytes) const override;
    Result<std::string> command(std::string_view name, std::string_view arg = {}) const override;
    Result<json::Value> query(std::string_view name) const override;

    const std::string& dir() const { return dir_; }

private:
    Error missing(const std::string& key, std::string fallback) const;
    SnapshotView(std::string dir, Platform p, std::int64_t now) : dir_(std::move(dir)), platform_(p), now_(now) {}
    std::string dir_;
    Platform platform_;
    std::int64_t now_;
};

// Reads a regular file of at most max_bytes (more is cut); refuses anything
// else (FIFOs, devices, directories), so a hostile snapshot cannot block.
Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes);

}  // namespace ztna::posture
