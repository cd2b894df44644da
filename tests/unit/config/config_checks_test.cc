#include "config/config_checks.h"

#include <doctest/doctest.h>

#include <string>

using namespace udp::config;

TEST_CASE("pathError") {
  for (const char* ok :
       {"/", "/dev", "/dev/ttyUSB0", "//dev", "/a/./b", "/a/..b", "/a/b..", "/...", "/a/"}) {
    CAPTURE(ok);
    CHECK_FALSE(pathError(ok).has_value());
  }
  CHECK(pathError("") == "must be an absolute path (start with '/')");
  CHECK(pathError("dev") == "must be an absolute path (start with '/')");
  CHECK(pathError("./dev") == "must be an absolute path (start with '/')");
  for (const char* bad : {"/..", "/../a", "/a/..", "/a/../b", "/a//../b"}) {
    CAPTURE(bad);
    CHECK(pathError(bad) == "must not contain a '..' component");
  }
  CHECK(pathError(std::string("/a\0", 3)) == "must not contain a NUL character");
}

TEST_CASE("permissionsError") {
  for (const char* ok : {"r", "w", "m", "rw", "wr", "rwm", "mrw"}) {
    CAPTURE(ok);
    CHECK_FALSE(permissionsError(ok).has_value());
  }
  CHECK(permissionsError("") == "must not be empty: use any of r, w and m");
  CHECK(permissionsError("rx") == "may only contain r, w and m, not 'rx'");
  CHECK(permissionsError("RW") == "may only contain r, w and m, not 'RW'");
  CHECK(permissionsError("r w") == "may only contain r, w and m, not 'r w'");
  CHECK(permissionsError("rwmw") == "lists 'w' twice in 'rwmw'");
}

TEST_CASE("isEnvVarName") {
  for (const char* ok : {"A", "_", "a", "SERIAL_PORTS", "_x9", "X1"}) {
    CAPTURE(ok);
    CHECK(isEnvVarName(ok));
  }
  for (const char* bad : {"", "1A", "A-B", "A.B", "A B", "A=B", "\xc3\xa4"}) {
    CAPTURE(bad);
    CHECK_FALSE(isEnvVarName(bad));
  }
}

TEST_CASE("templateError") {
  for (const char* ok :
       {"", "plain", "{ids}", "{devnodes}", "{serials}", "{resource}", "{ids},{ids}",
        "{\"json\": 1}", "{ ids }", "{}", "{", "}", "{1x}", "{ids", "x{{ids}}"}) {
    CAPTURE(ok);
    CHECK_FALSE(templateError(ok).has_value());
  }
  CHECK(templateError("{id}") ==
        "uses an unknown placeholder '{id}'; the placeholders are {ids} {devnodes} {serials} "
        "{resource}");
  CHECK(templateError("{ids} {IDS}").value_or("").find("'{IDS}'") != std::string::npos);
  CHECK(templateError("{{x}}").value_or("").find("'{x}'") != std::string::npos);
}
