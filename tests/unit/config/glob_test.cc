#include "config/glob.h"

#include <doctest/doctest.h>

#include <string>

using namespace udp::config;

TEST_CASE("valid globs") {
  for (const char* pattern : {
           "",
           "ttyUSB*",
           "tty?",
           "loop[0-9]*",
           "sd[!a]",
           "sd[^a]",
           "[]]",
           "[!]]",
           "[]a]",
           "[[:digit:]]",
           "[[:alpha:][:digit:]_]",
           "a\\*",
           "\\[",
           "[\\]]",
           "x]",
           "[[.a.]]",
           "[[=a=]]",
           "[a[b]",
           "/dev/input/event*",
       }) {
    CAPTURE(pattern);
    CHECK(isValidGlob(pattern));
  }
}

TEST_CASE("invalid globs say why") {
  CHECK_FALSE(isValidGlob("[a-z"));
  CHECK(globError("tty[") == "'[' at offset 3 has no closing ']'");
  CHECK(globError("[]") == "'[' at offset 0 has no closing ']'");
  CHECK(globError("[!]") == "'[' at offset 0 has no closing ']'");
  CHECK(globError("a[\\]") == "'[' at offset 1 has no closing ']'");
  CHECK(globError("tty\\") == "ends with a '\\' that escapes nothing");
  CHECK(globError("[[:digit]]") == "'[:' at offset 1 has no closing ':]'");
  CHECK(globError("[[:word:]]") == "unknown character class '[:word:]'");
  CHECK(globError("[[==]]") == "empty '[==]'");
  CHECK(globError(std::string("a\0b", 3)) == "contains a NUL character");
}

TEST_CASE("globMatch is fnmatch without flags") {
  CHECK(globMatch("ttyUSB*", "ttyUSB0"));
  CHECK_FALSE(globMatch("ttyUSB*", "ttyACM0"));
  CHECK(globMatch("loop[0-9]*", "loop12"));
  CHECK_FALSE(globMatch("loop[0-9]*", "loop-control"));
  CHECK(globMatch("/dev/*", "/dev/input/event3"));  // '*' crosses '/' without FNM_PATHNAME
  CHECK(globMatch("[[:digit:]]", "7"));
  CHECK(globMatch("a\\*", "a*"));
  CHECK_FALSE(globMatch("a\\*", "ab"));
  CHECK(globMatch("", ""));
  CHECK_FALSE(globMatch("*", std::string("a\0b", 3)));
  std::string_view view = std::string_view("zram0 and more").substr(0, 5);
  CHECK(globMatch("zram?", view));  // views need not be NUL-terminated
}
