#include "recording_view.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "command_catalogue.h"
#include "engine.h"

namespace fs = std::filesystem;

namespace ztna::posture {

Result<std::string> RecordingView::file(std::string_view path, std::size_t max_bytes) const {
    auto r = inner_.file(path, max_bytes);
    if (r && !forbidden_path(path)) {
        auto& kept = seen_.files[std::string(path)];
        if (r->size() > kept.size()) kept = *r;  // read twice with different caps: keep the longer
    } else if (!r && !forbidden_path(path)) {
        seen_.errors["fs" + std::string(path)] = r.error().message;
    }
    return r;
}

Result<std::string> RecordingView::command(std::string_view name, std::string_view arg) const {
    auto r = inner_.command(name, arg);
    if (r) seen_.commands[command_key(name, arg)] = *r;
    else if (valid_token(name) && (arg.empty() || valid_token(arg))) seen_.errors["cmd/" + command_key(name, arg)] = r.error().message;
    return r;
}

Result<json::Value> RecordingView::query(std::string_view name) const {
    auto r = inner_.query(name);
    if (r) seen_.queries[std::string(name)] = json::dump_pretty(*r) + "\n";
    else if (valid_token(name)) seen_.errors["query/" + std::string(name)] = r.error().message;
    return r;
}

namespace {

Result<void> write_file(const fs::path& p, std::string_view content) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return fail("cannot create " + p.parent_path().string() + ": " + ec.message());
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return fail("cannot create " + p.string() + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            return fail("cannot write " + p.string() + ": " + std::strerror(e));
        }
        done += std::size_t(n);
    }
    if (::close(fd) != 0) return fail("cannot write " + p.string() + ": " + std::strerror(errno));
    return {};
}

}  // namespace

Result<void> write_snapshot(const MemoryView& m, const std::string& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
        return fail("snapshot directory " + dir + " already exists and is not empty; name a new directory");
    fs::create_directories(dir, ec);
    if (ec) return fail("cannot create snapshot directory " + dir + ": " + ec.message());
    const fs::path root(dir);
    if (auto r = write_file(root / "platform", std::string(platform_name(m.platform())) + "\n"); !r) return r;
    if (auto r = write_file(root / "collected_at", std::to_string(m.now()) + "\n"); !r) return r;
    for (const auto& [path, content] : m.files)
        if (auto r = write_file(root / "fs" / path.substr(1), content); !r) return r;
    for (const auto& [key, content] : m.commands)
        if (auto r = write_file(root / "cmd" / key, content); !r) return r;
    for (const auto& [name, content] : m.queries)
        if (auto r = write_file(root / "query" / (name + ".json"), content); !r) return r;
    // Best effort: a reason that cannot be stored (its path clashes with
    // another's) only loses its wording, and replays with the generic one.
    for (const auto& [key, why] : m.errors) (void)write_file(root / "errors" / key, why + "\n");
    return {};
}

Result<void> capture_snapshot(const SystemView& view, const Requirements& req, const std::string& dir) {
    RecordingView rec(view);
    (void)evaluate(rec, req);
    return write_snapshot(rec.recorded(), dir);
}

}  // namespace ztna::posture
