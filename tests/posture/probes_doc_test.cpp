// posture/PROBES.md lists every source: each command and query of the
// catalogue, with its snapshot NAME and its command line, must appear in it.
#include <doctest/doctest.h>

#include "command_catalogue.h"
#include "snapshot_view.h"

using namespace ztna::posture;

TEST_CASE("posture/PROBES.md names every catalogue command (with its command line) and query") {
    auto doc = read_regular_file(ZTNA_SOURCE_DIR "/posture/PROBES.md", 1u << 20);
    REQUIRE_MESSAGE(doc, "posture/PROBES.md is missing");
    for (Platform p : {Platform::Linux, Platform::Windows, Platform::Macos}) {
        CAPTURE(platform_name(p));
        for (const auto& c : commands(p)) {
            CAPTURE(c.name);
            CHECK(doc->find("`cmd/" + std::string(c.name)) != std::string::npos);
            CHECK(doc->find(std::string(c.command_line)) != std::string::npos);
            CHECK(!c.purpose.empty());
        }
        for (const auto& q : queries(p)) {
            CAPTURE(q.name);
            CHECK(doc->find("`query/" + std::string(q.name) + ".json`") != std::string::npos);
            CHECK(!q.purpose.empty());
        }
    }
}
