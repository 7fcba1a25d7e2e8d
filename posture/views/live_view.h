// The SystemView of this machine. Files are read directly (regular files only,
// capped); catalogue commands run without a shell, with LC_ALL=C, stdin from
// /dev/null, a timeout and a cap on their output; queries are built from /proc.
// Only Linux has a live view today (live_view_linux.cpp).
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

private:
    std::int64_t now_;
};

}  // namespace ztna::posture
