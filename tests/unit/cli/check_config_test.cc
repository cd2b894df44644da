#include "cli/check_config.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../udev/record_builder.h"
#include "api.pb.h"

namespace udp::cli {
namespace {

using udev::DeviceRecord;
using udev::testing::plainRecord;
using udev::testing::usbSerialRecord;

config::Resource resource(const std::string& name, const std::string& subsystem,
                          const std::string& kernel, int line) {
  config::Resource r;
  r.name = name;
  config::MatchRule rule;
  rule.subsystem = subsystem;
  rule.kernel = kernel;
  r.match = {rule};
  r.position = {line, 5};
  return r;
}

TEST_CASE("listAndWatchDeviceBytes is what protobuf encodes") {
  for (size_t idLength : {1, 7, 63, 127, 128}) {
    for (int numa : {-1, 0, 1, 127, 128, 70000}) {
      for (bool healthy : {true, false}) {
        v1beta1::ListAndWatchResponse response;
        v1beta1::Device* device = response.add_devices();
        device->set_id(std::string(idLength, 'x'));
        device->set_health(healthy ? "Healthy" : "Unhealthy");
        if (numa >= 0) device->mutable_topology()->add_nodes()->set_id(numa);
        CAPTURE(idLength);
        CAPTURE(numa);
        CHECK(listAndWatchDeviceBytes(idLength, healthy, numa) == response.ByteSizeLong());
      }
    }
  }
}

TEST_CASE("deviceWarnings: devices two resources match go to the first") {
  config::Config config;
  config.resources = {resource("example.com/serial", "tty", "ttyUSB*", 2),
                      resource("example.com/tty", "tty", "tty*", 5)};
  std::vector<DeviceRecord> devices = {usbSerialRecord(), plainRecord("zram0")};
  std::vector<config::Diagnostic> warnings = deviceWarnings(config, devices);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].severity == config::Severity::kWarning);
  CHECK(warnings[0].position.line == 5);
  CHECK(warnings[0].message.find("'example.com/tty' matches 1 device(s) present that go to "
                                 "'example.com/serial' only") != std::string::npos);
  CHECK(warnings[0].message.find("/dev/ttyUSB0") != std::string::npos);

  config.resources[1].shareDevicesWithEarlierResources = true;
  CHECK(deviceWarnings(config, devices).empty());
}

TEST_CASE("deviceWarnings: shares x devices over the kubelet's 4 MiB") {
  config::Config config;
  config.resources = {resource("example.com/tty", "tty", "ttyUSB*", 2)};
  config.resources[0].shares = 1000;
  // Each device: a 40-byte serial, so share IDs of 44 bytes ("<serial>-999"), NUMA node 1: 65
  // bytes each in the message.
  auto devices = [](size_t count) {
    std::vector<DeviceRecord> out;
    for (size_t i = 0; i < count; ++i) {
      DeviceRecord r = usbSerialRecord();
      std::string n = std::to_string(i);
      r.syspath += n;
      r.devpath += n;
      r.properties["ID_SERIAL_SHORT"] = std::string(40 - n.size(), 'S') + n;
      out.push_back(r);
    }
    return out;
  };
  // 65 devices x 1000 shares are over 4 MiB, 64 are not.
  CHECK(deviceWarnings(config, devices(64)).empty());
  std::vector<config::Diagnostic> warnings = deviceWarnings(config, devices(65));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].position.line == 2);
  CHECK(warnings[0].message.find("65000 IDs (65 devices x 1000 shares)") != std::string::npos);
  CHECK(warnings[0].message.find("over the kubelet's limit of 4194304") != std::string::npos);
}

}  // namespace
}  // namespace udp::cli
