#include <doctest/doctest.h>

#include "ztna/json.h"

using namespace ztna;

TEST_CASE("json: parse and canonical dump round-trip, keys sorted, no whitespace") {
    auto v = json::parse(R"( { "b": [1, -2, 3.5, true, false, null], "a": "x\"y\\z\n\u00e9\ud83d\ude00" } )");
    REQUIRE(v);
    CHECK(json::dump(*v) == "{\"a\":\"x\\\"y\\\\z\\n\xC3\xA9\xF0\x9F\x98\x80\",\"b\":[1,-2,3.5,true,false,null]}");
    auto again = json::parse(json::dump(*v));
    REQUIRE(again);
    CHECK(*again == *v);
    CHECK(json::dump(json::Value("\x01")) == "\"\\u0001\"");
}

TEST_CASE("json: malformed input is an error naming the offset, never a crash") {
    for (const char* bad : {"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "\"abc", "tru", "01", "1.", "-", "[1 2]",
                            "{\"a\":1,\"a\":2}", "\"\\ud800\"", "\"\\x\"", "\"\xC3\"", "\"\xC0\xAF\"", "1e999",
                            "[] []", "\"a\x01\""}) {
        CAPTURE(bad);
        auto v = json::parse(bad);
        CHECK(!v);
        if (!v) CHECK(v.error().message.find("byte") != std::string::npos);
    }
    std::string deep(100, '[');
    CHECK(!json::parse(deep));
    CHECK(json::parse(std::string(10, '[') + std::string(10, ']')));
    json::ParseLimits small;
    small.max_bytes = 4;
    CHECK(!json::parse("[1,2,3]", small));
}

TEST_CASE("json: integers stay integers, lookups never throw") {
    auto v = json::parse(R"({"n": 9007199254740993, "s": "x", "o": {}})");
    REQUIRE(v);
    REQUIRE(v->int_at("n"));
    CHECK(*v->int_at("n") == 9007199254740993LL);
    CHECK(v->int_at("s") == nullptr);
    CHECK(v->string_at("missing") == nullptr);
    CHECK(json::Value(42).string_at("x") == nullptr);
    CHECK(json::dump(json::Value(std::string("bad \xFF byte"))) == "\"bad \xEF\xBF\xBD byte\"");
}

TEST_CASE("json: a double with an integral value stays a double through dump and parse (fuzz_json finding)") {
    auto v = json::parse("[211220.0, 1e21, -0.5, 3]");
    REQUIRE(v);
    const std::string once = json::dump(*v);
    CHECK(once == "[211220.0,1e+21,-0.5,3]");
    auto again = json::parse(once);
    REQUIRE(again);
    CHECK(*again == *v);
    CHECK(again->as_array()[0].type() == json::Value::Type::Double);
    CHECK(again->as_array()[3].type() == json::Value::Type::Int);
}

TEST_CASE("json: the line map locates every value by JSON Pointer; errors name the line") {
    json::LineMap lines;
    auto v = json::parse("{\n  \"apps\": [\n    {\"name\": \"hr\",\n     \"ports\": [80, 443]}\n  ]\n}\n", {}, lines);
    REQUIRE(v);
    CHECK(lines.at("") == 1);
    CHECK(lines.at("/apps") == 2);
    CHECK(lines.at("/apps/0") == 3);
    CHECK(lines.at("/apps/0/name") == 3);
    CHECK(lines.at("/apps/0/ports/1") == 4);
    auto bad = json::parse("{\n\n  \"a\": tru\n}", {}, lines);
    REQUIRE(!bad);
    CHECK(bad.error().message.find("line 3") != std::string::npos);
}
