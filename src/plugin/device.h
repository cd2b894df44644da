#pragma once

// A device as the plugin advertises it: plain values, filled by a DeviceSource (udev in
// production, a script in tests). Nothing past the source sees a libudev type.

#include <string>
#include <vector>

namespace udp::plugin {

struct Device {
  std::string id;  // stable across renumbering; ≤ 63 chars, unique per resource
  bool healthy = true;
  // Why the device is unhealthy, for people and the DRA health stream: "removed", "attribute
  // online is \"0\", expected \"1\"", ...; empty while healthy.
  std::string healthReason;
  // Gone from the system but still listed as unhealthy (onRemove: unhealthy).
  bool removed = false;
  int numaNode = -1;               // -1: unknown (no TopologyInfo sent)
  std::string devnode;             // e.g. /dev/ttyUSB0; empty for devices without a node
  std::vector<std::string> links;  // /dev/... symlinks (by-id, by-path)
  std::string syspath;
  std::string serial;  // for the {serials} template and the audit log
  // For describe and the audit log; empty when unknown.
  std::string subsystem;
  std::string driver;  // of the device or its nearest parent with one
  std::string module;  // the kernel module providing that driver
  std::string vendor;  // ID_VENDOR_FROM_DATABASE, ID_VENDOR or the vendor id
  std::string model;   // ID_MODEL_FROM_DATABASE, ID_MODEL or the model id
  // For DRA attributes (CEL selectors); empty when unknown.
  std::string kernel;     // the kernel name (sysname), e.g. ttyUSB0
  std::string devtype;    // e.g. disk, partition, usb_interface
  std::string vendorId;   // ID_VENDOR_ID, else idVendor or a PCI vendor, 4 hex digits: "0403"
  std::string productId;  // ID_MODEL_ID, else idProduct or a PCI device ID: "6001"
  std::string idPath;     // ID_PATH, e.g. pci-0000:00:14.0-usb-0:1:1.0

  bool operator==(const Device&) const = default;
};

}  // namespace udp::plugin
