// The SystemView of this machine. Files are read directly (regular files only,
// capped); catalogue commands run without a shell, with LC_ALL=C, stdin from
// /dev/null, a timeout and a cap on their output; queries are built from /proc.
// Only Linux has a live view today (live_view_linux.cpp).
//
// One LiveView is one collection: now() is fixed when it is made, and all its
// commands together get at most kCollectionBudgetMs; past that, commands fail
// at once ("collection time budget spent"), so no set of slow tools can keep
// a collection going for long.
#pragma once

#include <chrono>

#include "system_view.h"

namespace ztna::posture {

class LiveView : public SystemView {
public:
    LiveView();

    Platform platform() const override;
    std::int64_t now() const override { return now_; }
    Result<std::string> file(std::string_view path, std::size_t max_bytes = limits::kMaxFileBytes) const override;
    Result<std::string> command(std::string_view name, std::string_view arg = {}) const override;
    Result<json::Value> query(std::string_view name) const override;

    static constexpr int kCollectionBudgetMs = 10000;

private:
    std::int64_t now_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace ztna::posture
