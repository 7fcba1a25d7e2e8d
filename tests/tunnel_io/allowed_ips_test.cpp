#include <doctest/doctest.h>

#include "allowed_ips.h"

using namespace ztna::tunnel::io;

namespace {
IpPrefix P(const char* s) {
    auto p = parse_prefix(s);
    REQUIRE(p);
    return *p;
}
IpAddr A(const char* s) {
    auto a = parse_ip(s);
    REQUIRE(a);
    return *a;
}
}  // namespace

TEST_CASE("longest prefix wins, per family") {
    AllowedIps t;
    t.insert(P("10.0.0.0/8"), 1);
    t.insert(P("10.1.0.0/16"), 2);
    t.insert(P("10.1.2.3/32"), 3);
    t.insert(P("0.0.0.0/0"), 4);
    t.insert(P("fd00::/8"), 5);
    t.insert(P("fd00:1::/32"), 6);
    CHECK(t.lookup(A("10.1.2.3")) == 3);
    CHECK(t.lookup(A("10.1.2.4")) == 2);
    CHECK(t.lookup(A("10.2.0.1")) == 1);
    CHECK(t.lookup(A("192.168.1.1")) == 4);
    CHECK(t.lookup(A("fd00:1::1")) == 6);
    CHECK(t.lookup(A("fd99::1")) == 5);
    CHECK(t.lookup(A("2001:db8::1")) == 0);  // no IPv6 default route
}

TEST_CASE("a prefix moves to the peer that inserts it last; removal prunes only that peer") {
    AllowedIps t;
    t.insert(P("10.0.0.0/24"), 1);
    t.insert(P("10.0.0.0/24"), 2);
    CHECK(t.lookup(A("10.0.0.9")) == 2);
    CHECK(t.prefixes_of(1).empty());
    t.insert(P("10.0.0.128/25"), 1);
    t.remove_peer(2);
    CHECK(t.lookup(A("10.0.0.9")) == 0);
    CHECK(t.lookup(A("10.0.0.200")) == 1);
    auto ps = t.prefixes_of(1);
    REQUIRE(ps.size() == 1);
    CHECK(to_string(ps[0]) == "10.0.0.128/25");
}

TEST_CASE("prefixes are listed back as written, host bits cleared") {
    AllowedIps t;
    t.insert(P("192.168.7.9/24"), 7);
    t.insert(P("fd00::5/64"), 7);
    t.insert(P("0.0.0.0/0"), 7);
    auto ps = t.prefixes_of(7);
    std::vector<std::string> s;
    for (auto& p : ps) s.push_back(to_string(p));
    CHECK(s == std::vector<std::string>{"0.0.0.0/0", "192.168.7.0/24", "fd00::/64"});
}

TEST_CASE("bad prefixes are refused") {
    for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/129", "x/1", "10.0.0.0/-1",
                            "10.0.0.0/8/8", "10.0.0.0/ 8"})
        CHECK_MESSAGE(!parse_prefix(bad), bad);
}
