#include <doctest/doctest.h>

#include "text.h"

using namespace ztna::posture;

TEST_CASE("text::decode: UTF-16 with and without BOM, UTF-8 BOM, CRLF") {
    const std::string le_bom("\xFF\xFE" "O\0n\0\r\0\n\0", 10);
    CHECK(text::decode(le_bom) == "On\n");
    const std::string be_bom("\xFE\xFF\0O\0n", 6);
    CHECK(text::decode(be_bom) == "On");
    const std::string le_plain("F\0u\0l\0l\0y\0", 10);
    CHECK(text::decode(le_plain) == "Fully");
    CHECK(text::decode("\xEF\xBB\xBFhello\r\nworld\r\n") == "hello\nworld\n");
    CHECK(text::decode(std::string("\xFF\xFE\x00\xD8", 4)) == "\xEF\xBF\xBD");  // lone surrogate
    CHECK(text::decode("caf\xC3\xA9 \xFF") == "caf\xC3\xA9 \xEF\xBF\xBD");
}

TEST_CASE("text: key values, versions, integers, excerpts") {
    const auto kv = text::key_value_map("  AzureAdJoined : YES\nDomainJoined: NO\nno separator\n : empty key\n", ':');
    CHECK(kv.at("azureadjoined") == "YES");
    CHECK(kv.at("domainjoined") == "NO");
    CHECK(kv.size() == 2);
    CHECK(text::compare_versions("10.0.19045", "10.0.22631") == -1);
    CHECK(text::compare_versions("24.04", "22.04") == 1);
    CHECK(text::compare_versions("14.4", "14.4.0") == 0);
    CHECK(text::compare_versions("14.4.1", "14.4") == 1);
    CHECK(text::compare_versions("12", "12.1") == -1);
    CHECK(!text::compare_versions("bookworm", "12"));
    CHECK(!text::compare_versions("1234567890123", "1"));
    CHECK(text::to_int(" 42 ") == 42);
    CHECK(text::to_int("-7") == -7);
    CHECK(!text::to_int("4x"));
    CHECK(!text::to_int(""));
    CHECK(!text::to_int("99999999999999999999"));
    CHECK(text::excerpt("a\nb\tc", 80) == "a b c");
    CHECK(text::excerpt(std::string(100, 'x'), 10) == "xxxxxxxxxx...");
    CHECK(text::looks_binary(std::string("ab\0cd", 5)));
    CHECK(!text::looks_binary("plain text\n"));
}
