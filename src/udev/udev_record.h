#pragma once

// The libudev edge (DESIGN.md §4): turns libudev devices into DeviceRecords and enumerates.
// Nothing past this file and the source sees a libudev type.

#include <libudev.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "udev/device_record.h"
#include "util/result.h"

namespace udp::udev {

enum class PropertySource {
  kLibudev,     // what libudev has: the uevent plus the udev database, or an event's own
  kUeventFile,  // only the device's sysfs uevent file, never the udev database
};

// Copies what the matcher needs out of `device` (non-null). The record keeps a reference on the
// device for on-demand attribute reads, so records are meant to be short-lived.
//
// Following raw kernel uevents, enumerate with kUeventFile: kernel events never carry udev's
// properties, and without a live udevd its database is stale or absent, so an enumerated
// device read with them could get another ID (a serial) than its own later events (its kernel
// name).
DeviceRecord recordFromUdev(udev_device* device,
                            PropertySource properties = PropertySource::kLibudev);

// The subsystems the rules name, so that enumeration and the monitor can skip the rest; nullopt
// when some rule names none (every device may match it).
std::optional<std::set<std::string>> ruleSubsystems(const std::vector<config::Resource>& resources);

// The syspaths of every device that may match one of the resources' rules.
Result<std::vector<std::string>> enumerateSyspaths(::udev& context,
                                                   const std::vector<config::Resource>& resources);

}  // namespace udp::udev
