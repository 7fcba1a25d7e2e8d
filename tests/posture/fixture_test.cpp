// The golden snapshot fixtures: each directory under fixtures/ is a snapshot
// (platform, collected_at, fs/, cmd/, query/) with expected.json (what the
// checks must decide), SOURCE.md (where the case comes from) and, optionally,
// requirements.json. One test walks them all; a second mutates every source of
// every fixture (empty, truncated, garbled, enormous, UTF-16, missing) and
// checks that nothing crashes and every result still explains itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>

#include "engine.h"
#include "snapshot_loader.h"
#include "snapshot_view.h"
#include "text.h"

namespace fs = std::filesystem;
using namespace ztna;
using namespace ztna::posture;

namespace {

std::vector<std::string> fixture_dirs() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(ZTNA_POSTURE_FIXTURES))
        if (e.is_directory()) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

json::Value read_json(const std::string& path) {
    auto raw = read_regular_file(path, 1u << 20);
    REQUIRE_MESSAGE(raw, path);
    auto v = json::parse(*raw);
    REQUIRE_MESSAGE(v, path << ": " << (v ? "" : v.error().message));
    return *v;
}

Requirements fixture_requirements(const std::string& dir) {
    if (!fs::exists(dir + "/requirements.json")) return {};
    auto r = requirements_from_json(read_json(dir + "/requirements.json"));
    REQUIRE_MESSAGE(r, dir << "/requirements.json: " << (r ? "" : r.error().message));
    return *r;
}

// Every result explains itself: a summary always, a remediation unless it passed.
void check_well_formed(const std::vector<CheckResult>& results) {
    REQUIRE(results.size() == std::size(kCheckIds));
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        CAPTURE(r.id);
        CHECK(r.id == kCheckIds[i]);
        CHECK(!r.summary.empty());
        CHECK(r.summary.find("PLACEHOLDER") == std::string::npos);
        if (r.status != Status::Pass) CHECK(!r.remediation.empty());
        CHECK(r.evidence.find("internal_error") == r.evidence.end());
    }
}

}  // namespace

TEST_CASE("golden snapshot fixtures decide as expected.json says") {
    const auto dirs = fixture_dirs();
    CHECK(dirs.size() >= 30);
    for (const auto& dir : dirs) {
        const std::string name = fs::path(dir).filename().string();
        CAPTURE(name);
        REQUIRE_MESSAGE(fs::exists(dir + "/SOURCE.md"), name << " has no SOURCE.md saying where the case comes from");
        CHECK(fs::file_size(dir + "/SOURCE.md") > 40);
        auto view = SnapshotView::open(dir);
        REQUIRE_MESSAGE(view, (view ? "" : view.error().message));
        const auto results = evaluate(*view, fixture_requirements(dir));
        check_well_formed(results);

        const json::Value expected = read_json(dir + "/expected.json");
        const json::Value* checks = expected.find("checks");
        REQUIRE_MESSAGE((checks && checks->is_object() && !checks->as_object().empty()),
                        name << "/expected.json needs a non-empty \"checks\" object");
        for (const auto& [id, want] : checks->as_object()) {
            CAPTURE(id);
            const auto it = std::find_if(results.begin(), results.end(), [&](const CheckResult& r) { return r.id == id; });
            REQUIRE_MESSAGE(it != results.end(), "expected.json names an unknown check");
            const json::Value got = to_json(*it);
            const std::string* status = want.string_at("status");
            REQUIRE_MESSAGE(status, "every expected check names its status");
            CHECK_MESSAGE(*status == std::string(status_name(it->status)), "summary: " << it->summary);
            if (const auto* s = want.string_at("summary")) CHECK(*s == it->summary);
            if (const auto* s = want.string_at("remediation")) CHECK(*s == it->remediation);
            if (const auto* ev = want.find("evidence")) {
                REQUIRE(ev->is_object());
                for (const auto& [key, value] : ev->as_object()) {
                    CAPTURE(key);
                    const auto e = it->evidence.find(key);
                    REQUIRE_MESSAGE(e != it->evidence.end(), "evidence has: " << json::dump(json::Value(it->evidence)));
                    CHECK_MESSAGE(e->second == value, "got " << json::dump(e->second) << ", want " << json::dump(value));
                }
            }
        }
    }
}

namespace {

std::string utf16le_with_bom(std::string_view utf8) {
    // Only for ASCII-and-UTF-8 text: decode to code points, write UTF-16LE.
    std::string out = "\xFF\xFE";
    for (std::size_t i = 0; i < utf8.size();) {
        std::uint32_t cp = std::uint8_t(utf8[i]);
        std::size_t n = 1;
        if (cp >= 0xF0) cp &= 0x07, n = 4;
        else if (cp >= 0xE0) cp &= 0x0F, n = 3;
        else if (cp >= 0xC0) cp &= 0x1F, n = 2;
        for (std::size_t k = 1; k < n && i + k < utf8.size(); ++k) cp = (cp << 6) | (std::uint8_t(utf8[i + k]) & 0x3F);
        i += n;
        const auto unit = [&](std::uint32_t u) {
            out += char(u & 0xFF);
            out += char(u >> 8);
        };
        if (cp >= 0x10000) {
            cp -= 0x10000;
            unit(0xD800 + (cp >> 10));
            unit(0xDC00 + (cp & 0x3FF));
        } else {
            unit(cp);
        }
    }
    return out;
}

using Store = std::map<std::string, std::string, std::less<>>;

}  // namespace

TEST_CASE("every source of every fixture, mutated: no crash, every result explains itself") {
    std::mt19937 rng(12345);
    std::size_t runs = 0;
    for (const auto& dir : fixture_dirs()) {
        const std::string name = fs::path(dir).filename().string();
        auto base = testing::load_snapshot(dir);
        REQUIRE_MESSAGE(base, name << ": " << (base ? "" : base.error().message));
        const Requirements req = fixture_requirements(dir);
        const auto original = evaluate(*base, req);
        for (Store MemoryView::*store : {&MemoryView::files, &MemoryView::commands, &MemoryView::queries}) {
            for (const auto& [key, content] : (*base).*store) {
                const auto mutate = [&](const char* how, std::optional<std::string> replacement) {
                    CAPTURE(name);
                    CAPTURE(key);
                    CAPTURE(how);
                    MemoryView v = *base;
                    if (replacement) (v.*store)[key] = *replacement;
                    else (v.*store).erase(key);
                    const auto results = evaluate(v, req);
                    check_well_formed(results);
                    ++runs;
                    return results;
                };
                mutate("missing", std::nullopt);
                mutate("empty", std::string());
                mutate("truncated", content.substr(0, content.size() / 2));
                std::string garbage(std::max<std::size_t>(content.size(), 64), '\0');
                for (char& c : garbage) c = char(rng());
                mutate("garbled", garbage);
                std::string huge;
                while (huge.size() < (2u << 20)) huge += content.empty() ? std::string("x\n") : content;
                mutate("enormous", huge);
                // UTF-16 with a BOM is what Windows tools write when redirected: a probe
                // decodes it and decides exactly as on the UTF-8 original.
                if (store != &MemoryView::files) {
                    const auto results = mutate("utf-16le", utf16le_with_bom(content));
                    for (std::size_t i = 0; i < results.size(); ++i) {
                        CAPTURE(name);
                        CAPTURE(key);
                        CHECK(json::dump(to_json(results[i])) == json::dump(to_json(original[i])));
                    }
                }
            }
        }
    }
    MESSAGE("mutated evaluations: " << runs);
}
