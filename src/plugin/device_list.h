#pragma once

// The ListAndWatchResponse of a resource, encoded straight from the inventory. Building the
// protobuf objects first costs three small allocations per device (Device, TopologyInfo,
// NUMANode) for a list that is serialized once and thrown away: with 10 000 devices that was
// most of the time of an update and, churned once per reactor turn while devices arrive, left
// megabytes of heap fragmented. The bytes are those protobuf's SerializeToString gives
// (tests/unit/plugin/device_list_test.cc checks).

#include <string>

#include "plugin/inventory.h"

namespace udp::plugin {

// Replaces `out` with the encoded list (its capacity is reused).
void encodeDeviceList(const Inventory& inventory, std::string& out);

}  // namespace udp::plugin
