#include "util/utf8.h"

#include <doctest/doctest.h>

#include <string>

#include "../../support/strict_utf8.h"

namespace udp {
namespace {

TEST_CASE("validUtf8Prefix keeps well-formed text whole when it fits") {
  CHECK(validUtf8Prefix("", 64).empty());
  CHECK(validUtf8Prefix("ttyUSB0", 64) == "ttyUSB0");
  CHECK(validUtf8Prefix("caf\xc3\xa9", 64) == "caf\xc3\xa9");
  CHECK(validUtf8Prefix(std::string(64, 'a'), 64) == std::string(64, 'a'));
}

TEST_CASE("validUtf8Prefix cuts at a character boundary, never inside one") {
  CHECK(validUtf8Prefix(std::string(70, 'a'), 64) == std::string(64, 'a'));
  // 63 ASCII bytes and a 2-byte character: the character does not fit whole, so it goes.
  CHECK(validUtf8Prefix(std::string(63, 'a') + "\xc3\xa9", 64) == std::string(63, 'a'));
  CHECK(validUtf8Prefix(std::string(62, 'a') + "\xc3\xa9", 64) ==
        std::string(62, 'a') + "\xc3\xa9");
  CHECK(validUtf8Prefix("\xf0\x9f\x98\x80", 3).empty());
}

TEST_CASE("validUtf8Prefix replaces ill-formed parts with U+FFFD, one per maximal subpart") {
  CHECK(validUtf8Prefix("a\xff"
                        "b",
                        64) ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(validUtf8Prefix("\xe2\x82", 64) == "\xef\xbf\xbd");  // truncated: one subpart
  CHECK(validUtf8Prefix("\xed\xa0\x80", 64) ==
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  CHECK(validUtf8Prefix("a\xff", 3) == "a");      // the replacement does not fit
  for (int b = 0; b < 256; ++b) {
    for (int c = 0; c < 256; c += 7) {
      const std::string in{static_cast<char>(b), static_cast<char>(c), 'x'};
      const std::string out = validUtf8Prefix(in, 5);
      INFO(b, " ", c);
      CHECK(testing::strictUtf8(out));
      CHECK(out.size() <= 5);
    }
  }
}

}  // namespace
}  // namespace udp
