#pragma once

// A device as the matcher sees it (DESIGN.md §4): plain values copied out of libudev at the edge,
// so matching, ID derivation and tracking are pure functions that tests drive with hand-built
// records. Sysfs attributes are the one exception to copying: a device has hundreds of them and
// its ancestors more, and a rule names a handful, so they are read on demand through
// AttributeReader.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace udp::udev {

// Sysfs attributes of a device (level 0) and its ancestors (level 1 = parent, nearest first).
class AttributeReader {
 public:
  virtual ~AttributeReader() = default;
  // 1 + the number of ancestors.
  virtual size_t levels() const = 0;
  // The value with trailing whitespace removed (sysfs ends most values with '\n'); nullopt when
  // the attribute is absent or unreadable, or `level` >= levels().
  virtual std::optional<std::string> read(size_t level, std::string_view name) const = 0;
};

// Attributes given as values: for tests and for devices whose sysfs is already gone.
class MapAttributeReader final : public AttributeReader {
 public:
  using Attributes = std::map<std::string, std::string, std::less<>>;

  MapAttributeReader() = default;
  explicit MapAttributeReader(std::vector<Attributes> levels) : levels_(std::move(levels)) {}

  size_t levels() const override { return levels_.empty() ? 1 : levels_.size(); }
  std::optional<std::string> read(size_t level, std::string_view name) const override;

 private:
  std::vector<Attributes> levels_;  // [0] the device, [1] its parent, ...
};

struct DeviceRecord {
  std::string syspath;  // e.g. /sys/devices/.../tty/ttyUSB0; the key a device is tracked by
  std::string devpath;  // syspath without the sysfs mount point, as in DEVPATH / DEVPATH_OLD
  std::string subsystem;
  std::string sysname;  // the kernel name, e.g. ttyUSB0
  std::string devnode;  // empty when the device has no node
  std::string devtype;
  std::string driver;  // of the device, else of its nearest ancestor that has one
  // The kernel module behind `driver` (its driver/module link); empty when built in or unknown.
  std::string module;
  std::map<std::string, std::string, std::less<>> properties;  // uevent + udev database
  std::vector<std::string> devlinks;                           // sorted
  // Never null in records built by fromUdevDevice; null reads as "no attributes at all".
  std::shared_ptr<const AttributeReader> attributes;

  std::optional<std::string> attribute(size_t level, std::string_view name) const {
    if (!attributes) return std::nullopt;
    return attributes->read(level, name);
  }
  size_t levels() const { return attributes ? attributes->levels() : 1; }
  const std::string* property(std::string_view name) const {
    auto it = properties.find(name);
    return it == properties.end() ? nullptr : &it->second;
  }
};

// Removes trailing spaces, tabs and newlines.
std::string trimTrailingSpace(std::string_view value);

}  // namespace udp::udev
