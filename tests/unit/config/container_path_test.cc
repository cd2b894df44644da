#include "config/container_path.h"

#include <doctest/doctest.h>

using namespace udp::config;

TEST_CASE("containerPathFor: host path, directory, fixed") {
  CHECK(containerPathFor("", "/dev/ttyUSB0") == "/dev/ttyUSB0");
  CHECK(containerPathFor("/dev/serial/", "/dev/ttyUSB0") == "/dev/serial/ttyUSB0");
  CHECK(containerPathFor("/dev/serial/", "/dev/bus/usb/001/002") == "/dev/serial/bus/usb/001/002");
  CHECK(containerPathFor("/dev/serial/", "/dev/bus/usb/002/002") == "/dev/serial/bus/usb/002/002");
  CHECK(containerPathFor("/host/", "/run/thing") == "/host/run/thing");
  CHECK(containerPathFor("/dev/port", "/dev/ttyUSB0") == "/dev/port");
  CHECK(isFixedContainerPath("/dev/port"));
  CHECK_FALSE(isFixedContainerPath("/dev/serial/"));
  CHECK_FALSE(isFixedContainerPath(""));
}

TEST_CASE("containerPathWarnings: one at each resource with a fixed path") {
  Config config;
  Resource fixed;
  fixed.name = "example.com/port";
  fixed.containerPath = "/dev/port";
  fixed.position = {4, 5};
  Resource directory = fixed;
  directory.name = "example.com/dir";
  directory.containerPath = "/dev/serial/";
  Resource plain;
  plain.name = "example.com/plain";
  config.resources = {fixed, directory, plain};
  std::vector<Diagnostic> warnings = containerPathWarnings(config);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].position.line == 4);
  CHECK(warnings[0].severity == Severity::kWarning);
  CHECK(warnings[0].message.find("'example.com/port'") != std::string::npos);
}
