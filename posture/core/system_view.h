// What a probe may read of a device: files, command outputs, structured query
// results, and the collection time. Probes are pure functions of a SystemView,
// so the same probe runs on this machine (LiveView) and on a captured snapshot
// directory (SnapshotView), whatever the platform it was captured on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::posture {

enum class Platform { Linux, Windows, Macos };

std::string_view platform_name(Platform p);

// Limits every view applies, so that no source can make a probe slow or big.
namespace limits {
inline constexpr std::size_t kMaxFileBytes = 1u << 20;     // a file is read up to 1 MiB
inline constexpr std::size_t kMaxCommandBytes = 1u << 20;  // a command's stdout is cut at 1 MiB
inline constexpr int kCommandTimeoutMs = 3000;             // a command is killed after 3 s
}  // namespace limits

class SystemView {
public:
    virtual ~SystemView() = default;

    virtual Platform platform() const = 0;
    // Collection time, Unix seconds: probes compare ages against it, never
    // against the clock, so a snapshot evaluates the same way every time.
    virtual std::int64_t now() const = 0;

    // The content of an absolute path on the device, at most max_bytes of it.
    // The error says why it could not be read (missing, not allowed...).
    virtual Result<std::string> file(std::string_view path, std::size_t max_bytes = limits::kMaxFileBytes) const = 0;

    // The stdout of a command of the catalogue (command_catalogue.h), by name;
    // arg fills the command's one parameter, for the commands that have one
    // (a session id, a user name). The error says why there is no output.
    virtual Result<std::string> command(std::string_view name, std::string_view arg = {}) const = 0;

    // A structured query (a WMI class, a registry key, the process list) as JSON.
    virtual Result<json::Value> query(std::string_view name) const = 0;
};

}  // namespace ztna::posture
