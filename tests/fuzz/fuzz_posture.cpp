// Every probe of every platform on arbitrary bytes. The first byte picks the
// platform; the rest is split at "\n--\n" into parts, and each file, command
// and query a probe asks for gets one of them (chosen by a hash of its name),
// so different sources see different input. Never crashes, never throws, and
// every result explains itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "command_catalogue.h"
#include "engine.h"

using namespace ztna;
using namespace ztna::posture;

namespace {

class FuzzView : public SystemView {
public:
    FuzzView(Platform p, std::vector<std::string> parts) : p_(p), parts_(std::move(parts)) {}
    Platform platform() const override { return p_; }
    std::int64_t now() const override { return 1764806400; }
    Result<std::string> file(std::string_view path, std::size_t max) const override {
        const std::string* s = pick(path);
        if (!s) return fail("missing");
        return s->substr(0, max);
    }
    Result<std::string> command(std::string_view name, std::string_view arg) const override {
        auto spec = check_command(p_, name, arg);
        if (!spec) return Unexpected<Error>{spec.error()};
        const std::string* s = pick(command_key(name, arg));
        if (!s) return fail("missing");
        return *s;
    }
    Result<json::Value> query(std::string_view name) const override {
        auto spec = check_query(p_, name);
        if (!spec) return Unexpected<Error>{spec.error()};
        const std::string* s = pick(name);
        if (!s) return fail("missing");
        auto v = json::parse(*s);
        if (!v) return Unexpected<Error>{v.error()};
        return v;
    }

private:
    const std::string* pick(std::string_view key) const {
        if (parts_.empty()) return nullptr;
        std::size_t h = 1469598103934665603ull;
        for (char c : key) h = (h ^ std::uint8_t(c)) * 1099511628211ull;
        const std::size_t i = h % (parts_.size() + 1);
        return i == parts_.size() ? nullptr : &parts_[i];  // some sources stay missing
    }
    Platform p_;
    std::vector<std::string> parts_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const Platform p = data[0] % 3 == 0 ? Platform::Linux : data[0] % 3 == 1 ? Platform::Windows : Platform::Macos;
    std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    std::vector<std::string> parts;
    for (std::size_t at; (at = rest.find("\n--\n")) != std::string::npos;) {
        parts.push_back(rest.substr(0, at));
        rest.erase(0, at + 4);
    }
    parts.push_back(rest);
    FuzzView view(p, std::move(parts));
    for (const auto& r : evaluate(view, Requirements{})) {
        if (r.summary.empty()) std::abort();
        if (r.status != Status::Pass && r.remediation.empty()) std::abort();
        if (r.evidence.count("internal_error")) std::abort();  // a probe threw
    }
    return 0;
}
