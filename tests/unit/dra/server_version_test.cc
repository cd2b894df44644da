#include "dra/server_version.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::dra {
namespace {

// GET /version of a kind cluster at v1.36.0.
const char* const kVersion = R"({
  "major": "1",
  "minor": "36",
  "emulationMajor": "1",
  "emulationMinor": "36",
  "minCompatibilityMajor": "1",
  "minCompatibilityMinor": "35",
  "gitVersion": "v1.36.0",
  "gitCommit": "0000000000000000000000000000000000000000",
  "gitTreeState": "clean",
  "buildDate": "2026-04-22T10:00:00Z",
  "goVersion": "go1.26.2",
  "compiler": "gc",
  "platform": "linux/amd64"
})";

std::string errorOf(const std::string& json) {
  Result<int> minor = parseMinorVersion(json);
  REQUIRE_FALSE(minor.ok());
  return minor.error().message;
}

TEST_CASE("a release's minor version") {
  Result<int> minor = parseMinorVersion(kVersion);
  REQUIRE(minor.ok());
  CHECK(*minor == 36);
  CHECK(*parseMinorVersion(R"({"major":"1","minor":"0"})") == 0);
  CHECK(*parseMinorVersion(R"({"minor":"9999"})") == 9999);
}

TEST_CASE("a managed cluster's '+': the number before it") {
  Result<int> minor =
      parseMinorVersion(R"({"major":"1","minor":"37+","gitVersion":"v1.37.1-eks-4c2b8a1"})");
  REQUIRE(minor.ok());
  CHECK(*minor == 37);
}

TEST_CASE("a minor version that cannot be told") {
  CHECK(errorOf(R"({"major":"1","minor":""})") == "Version: minor: missing or empty");
  CHECK(errorOf(R"({"major":"1"})") == "Version: minor: missing or empty");
  CHECK(errorOf(R"({"minor":null})") == "Version: minor: missing or empty");
  CHECK(errorOf(R"({"minor":36})") == "Version: minor: expected a string");
  const std::string form =
      "Version: minor: expected a number of at most 4 digits, optionally followed by '+'";
  CHECK(errorOf(R"({"minor":"+"})") == form);
  CHECK(errorOf(R"({"minor":"36++"})") == form);
  CHECK(errorOf(R"({"minor":"3a"})") == form);
  CHECK(errorOf(R"({"minor":"-1"})") == form);
  CHECK(errorOf(R"({"minor":" 36"})") == form);
  CHECK(errorOf(R"({"minor":"10000"})") == form);
  CHECK(errorOf(R"({"minor":"99999999999999999999"})") == form);
}

TEST_CASE("not a version: a Status, not an object, not JSON") {
  CHECK(errorOf(R"({"kind":"Status","status":"Failure","code":403,"minor":"36"})") ==
        "Version: kind: is Status, not Version");
  CHECK_FALSE(parseMinorVersion(R"(["minor","36"])").ok());
  CHECK_FALSE(parseMinorVersion("").ok());
  CHECK_FALSE(parseMinorVersion("minor: 36").ok());
  CHECK_FALSE(parseMinorVersion(R"({"minor":"36")").ok());
}

}  // namespace
}  // namespace udp::dra
