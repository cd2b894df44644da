#include "util/percent_encoding.h"

#include <doctest/doctest.h>

#include <string>

namespace udp {
namespace {

bool notLetter(unsigned char c) {
  return !(c >= 'a' && c <= 'z');
}

TEST_CASE("the bytes the rule selects become %XX, upper-case; the others stay") {
  CHECK(percentEncode("", notLetter) == "");
  CHECK(percentEncode("abc", notLetter) == "abc");
  CHECK(percentEncode("a b/C", notLetter) == "a%20b%2F%43");
  CHECK(percentEncode(std::string("\0\x0f\x10\xff", 4), notLetter) == "%00%0F%10%FF");
  CHECK(percentEncode("%", [](unsigned char) { return false; }) == "%");
}

}  // namespace
}  // namespace udp
