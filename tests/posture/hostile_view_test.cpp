// Every probe of every platform against a device whose every source is bad in
// the same way: each check must say unknown, with a reason and a remediation,
// and never pass or fail on input it could not read.
#include <doctest/doctest.h>

#include <optional>
#include <random>

#include "command_catalogue.h"
#include "engine.h"

using namespace ztna;
using namespace ztna::posture;

namespace {

class HostileView : public SystemView {
public:
    HostileView(Platform p, std::optional<std::string> content) : p_(p), content_(std::move(content)) {}
    Platform platform() const override { return p_; }
    std::int64_t now() const override { return 1764806400; }  // 2025-12-04
    Result<std::string> file(std::string_view path, std::size_t max) const override {
        if (!content_) return fail(std::string(path) + ": no such file");
        return content_->substr(0, max);
    }
    Result<std::string> command(std::string_view name, std::string_view arg) const override {
        auto spec = check_command(p_, name, arg);
        if (!spec) return Unexpected<Error>{spec.error()};
        if (!content_) return fail(std::string(name) + ": not installed");
        return content_->substr(0, limits::kMaxCommandBytes);
    }
    Result<json::Value> query(std::string_view name) const override {
        auto spec = check_query(p_, name);
        if (!spec) return Unexpected<Error>{spec.error()};
        if (!content_) return fail(std::string(name) + ": not available");
        auto v = json::parse(*content_);
        if (!v) return Unexpected<Error>{v.error()};
        return v;
    }

private:
    Platform p_;
    std::optional<std::string> content_;
};

}  // namespace

TEST_CASE("all sources missing, empty, garbled, binary, enormous or UTF-16 garbage: every check is unknown") {
    std::mt19937 rng(7);
    std::string garbled(4096, '\0');
    for (char& c : garbled) c = char(rng());
    std::string printable_noise;
    for (int i = 0; i < 2000; ++i) printable_noise += char('!' + rng() % 90);
    std::string enormous;
    while (enormous.size() < (2u << 20)) enormous += "lorem ipsum dolor sit amet ";
    const std::pair<const char*, std::optional<std::string>> kinds[] = {
        {"missing", std::nullopt},
        {"empty", std::string()},
        {"garbled", garbled},
        {"noise", printable_noise},
        {"nul bytes", std::string(512, '\0')},
        {"enormous", enormous},
        {"utf-16 garbage", std::string("\xFF\xFE\x41\xD8\x00\xDC\x00\x00\x42\x00", 10)},
        {"truncated json", std::string("{\"value\": [ {\"a\": ")},
        {"empty json", std::string("{}")},
        {"null json", std::string("null")},
    };
    for (Platform p : {Platform::Linux, Platform::Windows, Platform::Macos}) {
        for (const auto& [kind, content] : kinds) {
            HostileView view(p, content);
            for (const auto& r : evaluate(view, Requirements{})) {
                CAPTURE(platform_name(p));
                CAPTURE(kind);
                CAPTURE(r.id);
                CAPTURE(r.summary);
                CHECK(r.status == Status::Unknown);
                CHECK(!r.summary.empty());
                CHECK(!r.remediation.empty());
                CHECK(r.evidence.find("internal_error") == r.evidence.end());
            }
        }
    }
}
