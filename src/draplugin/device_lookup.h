#pragma once

// Which device of the inventory a name in a claim's allocation means: the DRA driver's view of
// the inventory, implemented by the daemon (it knows how ResourceSlice device names were made
// from device IDs), by a table in tests. A seam (DESIGN.md §5.5).

#include <optional>
#include <string_view>

#include "config/config.h"
#include "plugin/device.h"

namespace udp::draplugin {

// Both borrowed from the inventory, valid until it changes: NodePrepareResources uses them at
// once and keeps copies of what it needs.
struct DraDevice {
  const config::Resource& resource;
  const plugin::Device& device;
};

class DeviceLookup {
 public:
  virtual ~DeviceLookup() = default;
  // The device published as `deviceName` in `pool`, or nullopt when there is none now.
  virtual std::optional<DraDevice> find(std::string_view pool,
                                        std::string_view deviceName) const = 0;
};

}  // namespace udp::draplugin
