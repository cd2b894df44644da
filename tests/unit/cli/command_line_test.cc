#include "cli/command_line.h"

#include <doctest/doctest.h>

using udp::cli::Command;
using udp::cli::parseCommandLine;

TEST_CASE("run is the default command; both flag spellings work") {
  auto line = parseCommandLine({"--config", "c.yaml", "--kubelet-dir=/k", "--log-level", "debug"});
  REQUIRE(line.ok());
  CHECK(line->command == Command::kRun);
  CHECK(line->configPath == "c.yaml");
  CHECK(line->kubeletDir == "/k");
  CHECK(line->logLevel == "debug");

  auto list = parseCommandLine({"list", "--config=c.yaml"});
  REQUIRE(list.ok());
  CHECK(list->command == Command::kList);
  CHECK(parseCommandLine({"check-config", "--config", "x"})->command == Command::kCheckConfig);
  CHECK(parseCommandLine({"deviceclasses", "--config", "x"})->command == Command::kDeviceClasses);
}

TEST_CASE("help and version need no config") {
  CHECK(parseCommandLine({"--help"})->command == Command::kHelp);
  CHECK(parseCommandLine({"--version"})->command == Command::kVersion);
  CHECK(parseCommandLine({"run", "--version"})->command == Command::kVersion);
}

TEST_CASE("usage errors say what is wrong") {
  auto missing = parseCommandLine({});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("--config") != std::string::npos);
  auto unknown = parseCommandLine({"--config", "c", "--bogus"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("--bogus") != std::string::npos);
  CHECK_FALSE(parseCommandLine({"explode", "--config", "c"}).ok());
  CHECK_FALSE(parseCommandLine({"--config"}).ok());
  CHECK_FALSE(parseCommandLine({"--config="}).ok());
  CHECK_FALSE(parseCommandLine({"--config", "c", "--log-format", "xml"}).ok());
}
