#include "util/json_writer.h"
#include "util/utf8.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "../../support/strict_utf8.h"

using udp::appendJsonString;
using udp::JsonWriter;

namespace {

// The JSON literal of `bytes`, quotes stripped.
std::string literal(std::string_view bytes) {
  std::string out;
  appendJsonString(out, bytes);
  REQUIRE(out.size() >= 2);
  return out.substr(1, out.size() - 2);
}

const std::string kFffd = "\xef\xbf\xbd";

using udp::testing::strictUtf8;

}  // namespace

TEST_CASE("well-formed UTF-8 passes through unescaped, at every length") {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x8c \xef\xbf\xbf \xf4\x8f\xbf\xbf";
  CHECK(literal(text) == text);
  CHECK(literal("\xed\x9f\xbf") == "\xed\x9f\xbf");  // U+D7FF, just below the surrogates
  CHECK(literal("\xee\x80\x80") == "\xee\x80\x80");  // U+E000, just above them
}

TEST_CASE("escapes: quote, backslash, control characters") {
  CHECK(literal("a\"b\\c\n\r\t") == "a\\\"b\\\\c\\n\\r\\t");
  CHECK(literal(std::string_view("\x00\x01\x1f\x7f", 4)) == "\\u0000\\u0001\\u001f\x7f");
}

TEST_CASE("ill-formed UTF-8 becomes U+FFFD, one per maximal subpart") {
  SUBCASE("stray continuation bytes and bytes that never appear") {
    CHECK(literal("a\x80z") == "a" + kFffd + "z");
    CHECK(literal("\xbf\xbf") == kFffd + kFffd);
    CHECK(literal("\xfe\xff") == kFffd + kFffd);
    CHECK(literal("\xf5\x80\x80\x80") == kFffd + kFffd + kFffd + kFffd);
  }
  SUBCASE("overlongs") {
    CHECK(literal("\xc0\xaf") == kFffd + kFffd);  // '/' in two bytes
    CHECK(literal("\xc1\xbf") == kFffd + kFffd);
    CHECK(literal("\xe0\x80\xaf") == kFffd + kFffd + kFffd);
    CHECK(literal("\xf0\x80\x80\xaf") == kFffd + kFffd + kFffd + kFffd);
  }
  SUBCASE("surrogates, alone or paired as CESU-8") {
    CHECK(literal("\xed\xa0\x80") == kFffd + kFffd + kFffd);
    CHECK(literal("\xed\xa0\xbd\xed\xb2\xa9") == kFffd + kFffd + kFffd + kFffd + kFffd + kFffd);
  }
  SUBCASE("above U+10FFFF") {
    CHECK(literal("\xf4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);
  }
  SUBCASE("truncated sequences: one replacement for the valid prefix, then go on") {
    CHECK(literal("\xe2\x82") == kFffd);
    CHECK(literal("\xe2\x82z") == kFffd + "z");
    CHECK(literal("\xf0\x9f\x94") == kFffd);
    CHECK(literal("\xf0\x9f\x94\xe2\x82\xac") == kFffd + "\xe2\x82\xac");
    CHECK(literal("x\xc3") == "x" + kFffd);
    CHECK(literal("\xc3\"") == kFffd + "\\\"");
  }
}

TEST_CASE("any byte string comes out as valid UTF-8 (every 1- and 2-byte input, prefixes of 3)") {
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    REQUIRE(strictUtf8(literal(one)));
    for (int b = 0; b < 256; ++b) {
      std::string two = one + static_cast<char>(b);
      REQUIRE_MESSAGE(strictUtf8(literal(two)), a << " " << b);
      std::string three = two + "\x80";
      REQUIRE_MESSAGE(strictUtf8(literal(three)), a << " " << b << " 80");
      // Well-formed input is never altered.
      if (strictUtf8(two) && a >= 0x20 && b >= 0x20 && a != '"' && a != '\\' && b != '"' &&
          b != '\\') {
        CHECK(literal(two) == two);
      }
    }
  }
}

TEST_CASE("keys and values of a document both go through the same check") {
  JsonWriter json;
  json.beginObject().key("model\xff").value("USB\xc0 Serial").endObject();
  CHECK(json.text() == "{\"model" + kFffd + "\":\"USB" + kFffd + " Serial\"}");
}

TEST_CASE("validUtf8Prefix: ill-formed parts replaced, cut at a character boundary") {
  CHECK(udp::validUtf8Prefix("plain", 100) == "plain");
  CHECK(udp::validUtf8Prefix("a\xff"
                             "b",
                             100) ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(udp::validUtf8Prefix("\xc3\xa9t\xc3\xa9", 100) == "\xc3\xa9t\xc3\xa9");
  // Cut inside the second é: the whole character goes, never half of it.
  CHECK(udp::validUtf8Prefix("\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9");
  CHECK(udp::validUtf8Prefix("abcdef", 4) == "abcd");
  CHECK(udp::validUtf8Prefix("", 0).empty());
}
