#include "udev/device_id.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "udev/matcher.h"
#include "util/utf8.h"

namespace udp::udev {
namespace {

const std::string* nonEmptyProperty(const DeviceRecord& device, std::string_view name) {
  const std::string* value = device.property(name);
  return value != nullptr && !value->empty() ? value : nullptr;
}

bool idChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

uint32_t fnv1a(std::string_view bytes) {
  uint32_t hash = 2166136261u;
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

// The first non-empty property of `keys`, else the first attribute of `attributes` found on the
// device or its nearest ancestor.
std::string describedBy(const DeviceRecord& device, std::initializer_list<std::string_view> keys,
                        std::initializer_list<std::string_view> attributes) {
  for (std::string_view key : keys) {
    if (const std::string* value = nonEmptyProperty(device, key)) return *value;
  }
  for (size_t level = 0; level < device.levels(); ++level) {
    for (std::string_view name : attributes) {
      std::optional<std::string> value = device.attribute(level, name);
      if (value && !value->empty()) return *value;
    }
  }
  return {};
}

// A PCI ID attribute reads "0x8086": the 4 hex digits, else empty.
std::string pciHexId(std::string_view value) {
  if (value.size() != 6 || value.substr(0, 2) != "0x") return {};
  for (char c : value.substr(2)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
  }
  return std::string(value.substr(2));
}

// The property, else the USB attribute (idVendor, idProduct) or the PCI one (vendor, device; only
// in the 0xHHHH form, since block and SCSI devices have text attributes of the same names) of
// the device or its nearest ancestor with either.
std::string hexIdOf(const DeviceRecord& device, std::string_view property,
                    std::string_view usbAttribute, std::string_view pciAttribute) {
  if (const std::string* value = nonEmptyProperty(device, property)) return *value;
  for (size_t level = 0; level < device.levels(); ++level) {
    std::optional<std::string> usb = device.attribute(level, usbAttribute);
    if (usb && !usb->empty()) return *usb;
    std::optional<std::string> pci = device.attribute(level, pciAttribute);
    if (pci && !pciHexId(*pci).empty()) return pciHexId(*pci);
  }
  return {};
}

size_t decimalDigits(int value) {
  size_t digits = 1;
  for (; value >= 10; value /= 10) ++digits;
  return digits;
}

}  // namespace

std::string idSource(const DeviceRecord& device) {
  for (std::string_view key : {"ID_SERIAL_SHORT", "ID_SERIAL", "ID_PATH"}) {
    if (const std::string* value = nonEmptyProperty(device, key)) return *value;
  }
  return device.sysname;
}

std::string sanitizeId(std::string_view raw, size_t maxLength) {
  std::string id;
  id.reserve(raw.size());
  for (char c : raw) id.push_back(idChar(c) ? c : '_');
  constexpr size_t kHashSuffix = 9;  // '-' and 8 hex digits
  if (id.size() <= maxLength || maxLength <= kHashSuffix) {
    if (id.size() > maxLength) id.resize(maxLength);
    return id;
  }
  char suffix[kHashSuffix + 1];
  std::snprintf(suffix, sizeof suffix, "-%08x", static_cast<unsigned>(fnv1a(raw)));
  id.resize(maxLength - kHashSuffix);
  id += suffix;
  return id;
}

size_t maxBaseIdLength(int shares) {
  if (shares <= 1) return kMaxDeviceIdLength;
  return kMaxDeviceIdLength - 1 - decimalDigits(shares - 1);
}

std::vector<std::string> shareIds(std::string_view id, int shares) {
  if (shares <= 1) return {std::string(id)};
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(shares));
  for (int k = 0; k < shares; ++k) ids.push_back(std::string(id) + "-" + std::to_string(k));
  return ids;
}

int numaNode(const DeviceRecord& device) {
  for (size_t level = 0; level < device.levels(); ++level) {
    std::optional<std::string> value = device.attribute(level, "numa_node");
    if (!value) continue;
    int node = -1;
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), node);
    if (ec != std::errc() || end != value->data() + value->size() || node < 0) return -1;
    return node;
  }
  return -1;
}

std::string serialOf(const DeviceRecord& device) {
  for (std::string_view key : {"ID_SERIAL_SHORT", "ID_SERIAL"}) {
    if (const std::string* value = nonEmptyProperty(device, key)) return *value;
  }
  return {};
}

std::string vendorOf(const DeviceRecord& device) {
  return describedBy(device, {"ID_VENDOR_FROM_DATABASE", "ID_VENDOR", "ID_VENDOR_ID"},
                     {"idVendor", "vendor"});
}

std::string modelOf(const DeviceRecord& device) {
  return describedBy(device, {"ID_MODEL_FROM_DATABASE", "ID_MODEL", "ID_MODEL_ID"},
                     {"idProduct", "model", "device"});
}

std::string vendorIdOf(const DeviceRecord& device) {
  return hexIdOf(device, "ID_VENDOR_ID", "idVendor", "vendor");
}

std::string productIdOf(const DeviceRecord& device) {
  return hexIdOf(device, "ID_MODEL_ID", "idProduct", "device");
}

std::string unhealthyReason(const config::Resource& resource, const DeviceRecord& device) {
  if (!resource.health) return {};
  const config::HealthAttribute& rule = *resource.health;
  std::optional<std::string> value = device.attribute(0, rule.name);
  if (value && globMatch(rule.healthy, *value)) return {};
  std::string reason = "attribute " + rule.name + " is ";
  if (!value) {
    reason += "missing";
  } else {
    // A sysfs value is bytes and can be long; the reason ends up in logs and in the DRA health
    // message, a protobuf string, which must be valid UTF-8.
    constexpr size_t kShown = 64;
    reason += '"' + validUtf8Prefix(*value, kShown) + (value->size() > kShown ? "...\"" : "\"");
  }
  return reason + ", expected \"" + rule.healthy + '"';
}

bool isHealthy(const config::Resource& resource, const DeviceRecord& device) {
  return unhealthyReason(resource, device).empty();
}

plugin::Device describeDevice(const config::Resource& resource, const DeviceRecord& device) {
  plugin::Device out;
  out.healthReason = unhealthyReason(resource, device);
  out.healthy = out.healthReason.empty();
  out.numaNode = numaNode(device);
  out.devnode = device.devnode;
  out.links = device.devlinks;
  out.syspath = device.syspath;
  out.serial = serialOf(device);
  out.subsystem = device.subsystem;
  out.driver = device.driver;
  out.module = device.module;
  out.vendor = vendorOf(device);
  out.model = modelOf(device);
  out.kernel = device.sysname;
  out.devtype = device.devtype;
  out.vendorId = vendorIdOf(device);
  out.productId = productIdOf(device);
  if (const std::string* idPath = nonEmptyProperty(device, "ID_PATH")) out.idPath = *idPath;
  return out;
}

}  // namespace udp::udev
