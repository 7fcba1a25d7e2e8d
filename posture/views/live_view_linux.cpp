#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <ctime>

#include "command_catalogue.h"
#include "live_view.h"
#include "run_command.h"
#include "snapshot_view.h"
#include "text.h"

namespace ztna::posture {

LiveView::LiveView() : now_(std::int64_t(std::time(nullptr))) {}

Platform LiveView::platform() const { return Platform::Linux; }

Result<std::string> LiveView::file(std::string_view path, std::size_t max_bytes) const {
    if (forbidden_path(path)) return fail(std::string(path) + ": not readable by posture probes");
    auto r = read_regular_file(std::string(path), std::min(max_bytes, limits::kMaxFileBytes));
    if (r && holds_private_key(*r))
        return fail(std::string(path) + ": holds a private key, which posture probes never read (point the setting at the certificate only)");
    return r;
}

Result<std::string> LiveView::command(std::string_view name, std::string_view arg) const {
    auto spec = check_command(platform(), name, arg);
    if (!spec) return Unexpected<Error>{spec.error()};
    const auto argv = command_argv(**spec, arg);
    const std::string label = command_key(name, arg);
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    const int left = kCollectionBudgetMs - int(spent.count());
    if (left <= 0)
        return fail(label + ": not run, the collection time budget of " + std::to_string(kCollectionBudgetMs / 1000) +
                    " s is spent (other commands were slow)");
    auto r = run_command(argv, std::min(left, limits::kCommandTimeoutMs), limits::kMaxCommandBytes);
    if (!r) return fail(label + ": " + r.error().message);
    if (r->timed_out)
        return fail(label + ": `" + std::string((*spec)->command_line) + "` gave no answer within " +
                    std::to_string(limits::kCommandTimeoutMs / 1000) + " s and was stopped");
    if (r->status != 0 && text::trim(r->out).empty()) {
        std::string why = text::excerpt(text::trim(text::decode(r->err)), 160);
        return fail(label + ": " + argv[0] + " exited with status " + std::to_string(r->status) +
                    (why.empty() ? std::string() : ": " + why));
    }
    return std::move(r->out);
}

Result<json::Value> LiveView::query(std::string_view name) const {
    auto spec = check_query(platform(), name);
    if (!spec) return Unexpected<Error>{spec.error()};
    if (name != "processes") return fail(std::string(name) + ": this live view cannot answer this query");
    DIR* d = ::opendir("/proc");
    if (!d) return fail(std::string("/proc: ") + std::strerror(errno));
    json::Array procs;
    while (dirent* e = ::readdir(d)) {
        const auto pid = text::to_int(e->d_name);
        if (!pid || *pid <= 0) continue;
        const std::string base = std::string("/proc/") + e->d_name;
        auto comm = read_regular_file(base + "/comm", 64);
        if (!comm) continue;  // gone meanwhile
        json::Object p;
        p["pid"] = json::Value(std::int64_t(*pid));
        p["name"] = std::string(text::trim(*comm));
        char exe[4096];
        const ssize_t n = ::readlink((base + "/exe").c_str(), exe, sizeof exe - 1);
        if (n > 0) p["exe"] = std::string(exe, std::size_t(n));
        procs.push_back(std::move(p));
        if (procs.size() >= 100000) break;
    }
    ::closedir(d);
    return json::Value(std::move(procs));
}

}  // namespace ztna::posture
