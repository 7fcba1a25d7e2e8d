// A SystemView held in memory: the test double probes are tested with, and
// what a recording of the live view collects before it becomes a snapshot.
#pragma once

#include <map>
#include <string>

#include "system_view.h"

namespace ztna::posture {

class MemoryView : public SystemView {
public:
    MemoryView(Platform p, std::int64_t now) : platform_(p), now_(now) {}

    Platform platform() const override { return platform_; }
    std::int64_t now() const override { return now_; }
    Result<std::string> file(std::string_view path, std::size_t max_bytes = limits::kMaxFileBytes) const override;
    Result<std::string> command(std::string_view name, std::string_view arg = {}) const override;
    Result<json::Value> query(std::string_view name) const override;

    // By absolute path; by command_key(name, arg); by query name (raw JSON
    // text, so tests can hand a probe broken JSON).
    std::map<std::string, std::string, std::less<>> files;
    std::map<std::string, std::string, std::less<>> commands;
    std::map<std::string, std::string, std::less<>> queries;
    // Why a source could not be read, by "fs<path>", "cmd/<key>" or
    // "query/<name>": what a recording saw fail, replayed with the same words.
    std::map<std::string, std::string, std::less<>> errors;

private:
    Error missing(const std::string& key, std::string fallback) const;
    Platform platform_;
    std::int64_t now_;
};

}  // namespace ztna::posture
