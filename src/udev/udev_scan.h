#pragma once

// A one-shot enumeration for `udev-device-plugin list`: what the daemon would advertise now,
// with the same matching and IDs, without a monitor or a reactor.

#include <string>
#include <vector>

#include "config/config.h"
#include "plugin/device.h"
#include "udev/device_record.h"
#include "util/result.h"

namespace udp::udev {

struct ScannedDevice {
  std::string resource;   // the resource's name
  plugin::Device device;  // one per share
};

// Devices grouped by resource in config order, each resource's ordered by syspath.
Result<std::vector<ScannedDevice>> scanOnce(const config::Config& config);

// The devices the config's subsystems enumerate, read as the daemon reads them (check-config
// matches them against every resource itself).
Result<std::vector<DeviceRecord>> scanRecords(const config::Config& config);

}  // namespace udp::udev
