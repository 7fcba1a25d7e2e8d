// The shared HTTPS helpers: the server-sent events parser fed in pieces,
// and https URLs split into host and port.
#include <doctest/doctest.h>

#include <vector>

#include "ztna/https_url.h"
#include "ztna/sse.h"

TEST_CASE("sse: frames split anywhere are parsed whole; comments and nameless frames are skipped; a runaway frame is refused") {
    const std::string stream = ": keep-alive\n\nid: 1\nevent: hello\ndata: {\"a\":1}\n\nid: 2\ndata: orphan\n\nevent: grant_removed\ndata: {}\n\n";
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        ztna::SseParser p;
        std::vector<ztna::SseEvent> got;
        const auto take = [&](const ztna::SseEvent& e) { got.push_back(e); };
        REQUIRE(p.feed(stream.substr(0, cut), take));
        REQUIRE(p.feed(stream.substr(cut), take));
        REQUIRE(got.size() == 2);
        CHECK(got[0].type == "hello");
        CHECK(got[0].data == "{\"a\":1}");
        CHECK(got[1].type == "grant_removed");
    }
    ztna::SseParser p;
    CHECK(!p.feed(std::string(2000, 'x'), [](const ztna::SseEvent&) {}, 1000));
}

TEST_CASE("https urls: host and port, IPv6 literals, and what is refused") {
    CHECK(ztna::parse_https_url("https://ctl.corp.test:8443")->port == 8443);
    CHECK(ztna::parse_https_url("https://ctl.corp.test/")->port == 443);
    CHECK(ztna::parse_https_url("https://[fd00::1]:9")->host == "fd00::1");
    for (const char* bad : {"http://x", "https://", "https://x/path", "https://x:0", "https://x:99999", "https://[fd00::1", "https://:5"})
        CHECK(!ztna::parse_https_url(bad));
}
