#include "snapshot_loader.h"

#include <filesystem>

#include "snapshot_view.h"

namespace fs = std::filesystem;

namespace ztna::posture::testing {

Result<MemoryView> load_snapshot(const std::string& dir) {
    auto snap = SnapshotView::open(dir);
    if (!snap) return Unexpected<Error>{snap.error()};
    MemoryView mem(snap->platform(), snap->now());
    const auto slurp = [](const fs::path& p) { return read_regular_file(p.string(), 64u << 20); };
    std::error_code ec;
    if (fs::is_directory(dir + "/fs"))
        for (const auto& e : fs::recursive_directory_iterator(dir + "/fs", ec))
            if (e.is_regular_file()) {
                auto c = slurp(e.path());
                if (!c) return Unexpected<Error>{c.error()};
                mem.files["/" + fs::relative(e.path(), dir + "/fs").string()] = *c;
            }
    for (const char* sub : {"cmd", "query"}) {
        if (!fs::is_directory(dir + "/" + sub)) continue;
        for (const auto& e : fs::directory_iterator(dir + "/" + sub, ec)) {
            if (!e.is_regular_file()) continue;
            auto c = slurp(e.path());
            if (!c) return Unexpected<Error>{c.error()};
            std::string name = e.path().filename().string();
            if (std::string(sub) == "cmd") {
                mem.commands[name] = *c;
            } else {
                if (name.size() > 5 && name.substr(name.size() - 5) == ".json") name.resize(name.size() - 5);
                mem.queries[name] = *c;
            }
        }
    }
    return mem;
}

}  // namespace ztna::posture::testing
