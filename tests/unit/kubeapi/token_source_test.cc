// The bearer token: fixed, or a file that rotates; looked at no more often than asked, at once
// after a 401, and a failed read keeps the last good token.

#include "kubeapi/token_source.h"

#include <doctest/doctest.h>
#include <stdio.h>

#include "../../support/temp_dir.h"

using namespace udp::kubeapi;
using udp::testing::TempDir;
using namespace std::chrono_literals;

TEST_CASE("a fixed token") {
  TokenSource source("abc", "/ignored");
  auto now = std::chrono::steady_clock::now();
  CHECK(source.current(now) == "abc");
  CHECK_FALSE(source.fromFile());
  CHECK_FALSE(source.reload(now));
  CHECK(TokenSource().current(now).empty());
}

TEST_CASE("a token file is re-read when it changed, at most once per recheck") {
  TempDir dir;
  dir.write("token", "one\n");
  TokenSource source("", dir.file("token"), 5s);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(source.current(t0) == "one");

  // Rotated the kubelet's way: a new file renamed over the old one.
  dir.write("token.new", "two");
  REQUIRE(rename(dir.file("token.new").c_str(), dir.file("token").c_str()) == 0);
  CHECK(source.current(t0 + 1s) == "one");  // not looked at yet
  CHECK(source.current(t0 + 5s) == "two");

  SUBCASE("a 401 looks at once") {
    dir.write("token.new", "three");
    REQUIRE(rename(dir.file("token.new").c_str(), dir.file("token").c_str()) == 0);
    CHECK(source.reload(t0 + 6s));
    CHECK(source.current(t0 + 6s) == "three");
    CHECK_FALSE(source.reload(t0 + 6s));  // unchanged: a retry would not help
  }
  SUBCASE("a file gone or empty keeps the last token and says why") {
    REQUIRE(remove(dir.file("token").c_str()) == 0);
    CHECK(source.current(t0 + 20s) == "two");
    CHECK(source.error().find("No such file") != std::string::npos);
    dir.write("token", "");
    CHECK(source.current(t0 + 30s) == "two");
    CHECK(source.error().find("is empty") != std::string::npos);
    dir.write("token", "four");
    CHECK(source.current(t0 + 40s) == "four");
    CHECK(source.error().empty());
  }
}
