#include "snapshot_view.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "command_catalogue.h"
#include "text.h"

namespace ztna::posture {

Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return fail(path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail(path + ": not a regular file");
    }
    std::string out;
    char buf[65536];
    while (out.size() < max_bytes) {
        const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            return fail(path + ": " + std::strerror(e));
        }
        if (n == 0) break;
        out.append(buf, std::size_t(n));
    }
    ::close(fd);
    return out;
}

Result<SnapshotView> SnapshotView::open(const std::string& dir) {
    auto plat = read_regular_file(dir + "/platform", 64);
    if (!plat)
        return fail("snapshot " + dir + " has no readable platform file (" + plat.error().message +
                    "); a snapshot directory holds platform, collected_at, fs/, cmd/ and query/");
    const std::string name = text::lower(text::trim(*plat));
    Platform p;
    if (name == "linux") p = Platform::Linux;
    else if (name == "windows") p = Platform::Windows;
    else if (name == "macos") p = Platform::Macos;
    else return fail("snapshot " + dir + "/platform says \"" + text::excerpt(name, 20) + "\"; expected linux, windows or macos");
    auto when = read_regular_file(dir + "/collected_at", 64);
    if (!when) return fail("snapshot " + dir + " has no readable collected_at file (" + when.error().message + ")");
    const auto t = text::to_int(*when);
    if (!t || *t < 0) return fail("snapshot " + dir + "/collected_at must hold Unix seconds, found \"" + text::excerpt(*when, 20) + "\"");
    return SnapshotView(dir, p, *t);
}

Error SnapshotView::missing(const std::string& key, std::string fallback) const {
    auto recorded = read_regular_file(dir_ + "/errors/" + key, 4096);
    if (recorded && !text::trim(*recorded).empty()) return Error{std::string(text::trim(text::decode(*recorded)))};
    return Error{std::move(fallback)};
}

Result<std::string> SnapshotView::file(std::string_view path, std::size_t max_bytes) const {
    if (forbidden_path(path)) return fail(std::string(path) + ": not readable by posture probes");
    auto r = read_regular_file(dir_ + "/fs" + std::string(path), max_bytes);
    if (!r) return Unexpected<Error>{missing("fs" + std::string(path), std::string(path) + ": not in the snapshot (fs" + std::string(path) + ")")};
    if (holds_private_key(*r))
        return fail(std::string(path) + ": holds a private key, which posture probes never read (point the setting at the certificate only)");
    return r;
}

Result<std::string> SnapshotView::command(std::string_view name, std::string_view arg) const {
    auto spec = check_command(platform_, name, arg);
    if (!spec) return Unexpected<Error>{spec.error()};
    const std::string key = command_key(name, arg);
    auto r = read_regular_file(dir_ + "/cmd/" + key, limits::kMaxCommandBytes);
    if (!r) return Unexpected<Error>{missing("cmd/" + key, key + ": no output in the snapshot (cmd/" + key + ")")};
    return r;
}

Result<json::Value> SnapshotView::query(std::string_view name) const {
    auto spec = check_query(platform_, name);
    if (!spec) return Unexpected<Error>{spec.error()};
    const std::string rel = "query/" + std::string(name) + ".json";
    auto raw = read_regular_file(dir_ + "/" + rel, limits::kMaxCommandBytes);
    if (!raw) return Unexpected<Error>{missing(rel.substr(0, rel.size() - 5), std::string(name) + ": no result in the snapshot (" + rel + ")")};
    // Windows tools (PowerShell's ConvertTo-Json redirected) often write UTF-16.
    auto v = json::parse(text::decode(*raw));
    if (!v) return fail(rel + ": " + v.error().message);
    return v;
}

}  // namespace ztna::posture
