#pragma once

// From a matched record to the device the plugin advertises (DESIGN.md §2): a stable ID, NUMA
// node, health and the paths handed to containers. Pure.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "plugin/device.h"
#include "udev/device_record.h"

namespace udp::udev {

inline constexpr size_t kMaxDeviceIdLength = 63;

// What the ID is made of, unsanitized: ID_SERIAL_SHORT, else ID_SERIAL, else ID_PATH (all stable
// across renumbering), else the kernel name.
std::string idSource(const DeviceRecord& device);

// Keeps [A-Za-z0-9._-] and replaces every other byte with '_'. A result longer than `maxLength`
// is cut and ends in '-' and 8 hex digits hashed from all of `raw`, so that long values sharing
// a prefix still differ.
std::string sanitizeId(std::string_view raw, size_t maxLength = kMaxDeviceIdLength);

// The longest base ID whose share IDs "<id>-<k>" still fit in kMaxDeviceIdLength.
size_t maxBaseIdLength(int shares);

// {"<id>"} when shares <= 1, else {"<id>-0", ..., "<id>-<shares-1>"}.
std::vector<std::string> shareIds(std::string_view id, int shares);

// numa_node of the device or of its nearest ancestor that has the attribute; -1 when unknown.
int numaNode(const DeviceRecord& device);

// ID_SERIAL_SHORT, else ID_SERIAL, else empty.
std::string serialOf(const DeviceRecord& device);

// For people reading `describe`: ID_VENDOR_FROM_DATABASE, else ID_VENDOR, else ID_VENDOR_ID,
// else the idVendor or vendor attribute of the device or its nearest ancestor with one; empty
// when none says.
std::string vendorOf(const DeviceRecord& device);
// Likewise ID_MODEL_FROM_DATABASE, ID_MODEL, ID_MODEL_ID, then idProduct, model or device.
std::string modelOf(const DeviceRecord& device);

// For DRA attributes: ID_VENDOR_ID, else the idVendor attribute (USB) or a vendor attribute of
// the form 0xHHHH (PCI, without the 0x) of the device or its nearest ancestor with one; empty
// when none says.
std::string vendorIdOf(const DeviceRecord& device);
// Likewise ID_MODEL_ID, then idProduct (USB) or device (PCI).
std::string productIdOf(const DeviceRecord& device);

// A present device is healthy when the resource has no health attribute, or when that attribute
// exists and matches its glob. Otherwise says why, e.g. `attribute online is "0", expected "1"`
// or `attribute online is missing, expected "1"`; empty while healthy.
std::string unhealthyReason(const config::Resource& resource, const DeviceRecord& device);
bool isHealthy(const config::Resource& resource, const DeviceRecord& device);

// Everything but the ID, which depends on the other devices of the resource (DeviceTracker).
plugin::Device describeDevice(const config::Resource& resource, const DeviceRecord& device);

}  // namespace udp::udev
