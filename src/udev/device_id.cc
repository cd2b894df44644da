#include "udev/device_id.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "udev/matcher.h"

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

bool isHealthy(const config::Resource& resource, const DeviceRecord& device) {
  if (!resource.health) return true;
  std::optional<std::string> value = device.attribute(0, resource.health->name);
  return value && globMatch(resource.health->healthy, *value);
}

plugin::Device describeDevice(const config::Resource& resource, const DeviceRecord& device) {
  plugin::Device out;
  out.healthy = isHealthy(resource, device);
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
  return out;
}

}  // namespace udp::udev
