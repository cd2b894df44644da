#pragma once

// Decides which resources a device belongs to (DESIGN.md §2). Pure: everything comes from the
// record, attribute reads included, so tests need no sysfs.

#include <string_view>

#include "config/config.h"
#include "config/glob.h"
#include "udev/device_record.h"

namespace udp::udev {

// fnmatch(3) without flags, as udev matches its rules: '*' also matches '/'. One implementation
// for the config's checks and the matching.
using config::globMatch;

// True when every key the rule sets matches the device:
//   subsystem, devtype       exact;
//   kernel, devnode          globs on the kernel name and the device node;
//   driver                   glob on the driver of the device or of its nearest ancestor with one;
//   properties               glob values; an absent property never matches;
//   attributes               glob values of the device's own sysfs attributes;
//   parentAttributes         like udev's ATTRS: all of them match on one and the same device,
//                            the device itself or any ancestor.
bool matchesRule(const config::MatchRule& rule, const DeviceRecord& device);

// A device belongs to a resource when any of its rules matches; a resource without rules has no
// devices.
bool matchesResource(const config::Resource& resource, const DeviceRecord& device);

}  // namespace udp::udev
