#include "udev/udev_record.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "udev/udev_ptr.h"

namespace udp::udev {
namespace {

std::string orEmpty(const char* s) {
  return s != nullptr ? std::string(s) : std::string();
}

// Reads sysfs through libudev rather than open(2) on syspaths, so that umockdev testbeds and
// libudev's own attribute cache apply. Owns a reference on the device, which owns its parents.
class UdevAttributeReader final : public AttributeReader {
 public:
  explicit UdevAttributeReader(UdevDevicePtr device) : device_(std::move(device)) {
    for (udev_device* d = device_.get(); d != nullptr; d = udev_device_get_parent(d)) {
      chain_.push_back(d);
    }
  }

  size_t levels() const override { return chain_.size(); }

  std::optional<std::string> read(size_t level, std::string_view name) const override {
    if (level >= chain_.size()) return std::nullopt;
    const char* value = udev_device_get_sysattr_value(chain_[level], std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return trimTrailingSpace(value);
  }

 private:
  UdevDevicePtr device_;
  std::vector<udev_device*> chain_;  // [0] the device, then its ancestors; owned by device_
};

// The device itself or its nearest ancestor that has a driver; null when none has.
udev_device* withDriver(udev_device* device) {
  for (udev_device* d = device; d != nullptr; d = udev_device_get_parent(d)) {
    const char* driver = udev_device_get_driver(d);
    if (driver != nullptr && *driver != '\0') return d;
  }
  return nullptr;
}

// libudev hands out link attributes only for driver, subsystem and module of the device itself,
// so the driver's module link is read directly. Built-in drivers often have none.
std::string moduleOf(udev_device* device) {
  const char* syspath = udev_device_get_syspath(device);
  if (syspath == nullptr) return {};
  std::string link = std::string(syspath) + "/driver/module";
  char target[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return {};
  std::string_view path(target, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

void addSplit(std::vector<std::string>& out, std::string_view list) {
  while (!list.empty()) {
    size_t space = list.find(' ');
    std::string_view word = list.substr(0, space);
    if (!word.empty()) out.emplace_back(word);
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
}

void addUeventFile(std::map<std::string, std::string, std::less<>>& properties,
                   udev_device* device) {
  const char* uevent = udev_device_get_sysattr_value(device, "uevent");
  std::string_view lines = uevent != nullptr ? uevent : "";
  while (!lines.empty()) {
    size_t end = lines.find('\n');
    std::string_view line = lines.substr(0, end);
    size_t eq = line.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      properties.insert_or_assign(std::string(line.substr(0, eq)),
                                  std::string(line.substr(eq + 1)));
    }
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 1);
  }
}

}  // namespace

DeviceRecord recordFromUdev(udev_device* device, PropertySource properties) {
  DeviceRecord record;
  record.syspath = orEmpty(udev_device_get_syspath(device));
  record.devpath = orEmpty(udev_device_get_devpath(device));
  record.subsystem = orEmpty(udev_device_get_subsystem(device));
  record.sysname = orEmpty(udev_device_get_sysname(device));
  record.devtype = orEmpty(udev_device_get_devtype(device));
  if (udev_device* driven = withDriver(device)) {
    record.driver = udev_device_get_driver(driven);
    record.module = moduleOf(driven);
  }

  udev_list_entry* entry;
  if (properties == PropertySource::kUeventFile) {
    // What a kernel uevent for the device would carry besides ACTION and SEQNUM.
    record.properties.emplace("DEVPATH", record.devpath);
    if (!record.subsystem.empty()) record.properties.emplace("SUBSYSTEM", record.subsystem);
    addUeventFile(record.properties, device);
    // The file names the node relative to /dev; libudev hands events' DEVNAME out absolute.
    auto devname = record.properties.find("DEVNAME");
    if (devname != record.properties.end() && !devname->second.starts_with('/')) {
      devname->second = "/dev/" + devname->second;
    }
  } else {
    udev_list_entry_foreach(entry, udev_device_get_properties_list_entry(device)) {
      record.properties.emplace(orEmpty(udev_list_entry_get_name(entry)),
                                orEmpty(udev_list_entry_get_value(entry)));
    }
  }

  record.devnode = orEmpty(udev_device_get_devnode(device));
  if (record.devnode.empty()) {
    // Without the udev database (kernel uevents only) DEVNAME is all there is.
    if (const std::string* name = record.property("DEVNAME"); name != nullptr && !name->empty()) {
      record.devnode = name->front() == '/' ? *name : "/dev/" + *name;
    }
  }

  if (properties == PropertySource::kLibudev) {
    udev_list_entry_foreach(entry, udev_device_get_devlinks_list_entry(device)) {
      record.devlinks.push_back(orEmpty(udev_list_entry_get_name(entry)));
    }
  }
  if (const std::string* links = record.property("DEVLINKS")) addSplit(record.devlinks, *links);
  std::sort(record.devlinks.begin(), record.devlinks.end());
  record.devlinks.erase(std::unique(record.devlinks.begin(), record.devlinks.end()),
                        record.devlinks.end());

  record.attributes = std::make_shared<UdevAttributeReader>(refDevice(device));
  return record;
}

std::optional<std::set<std::string>> ruleSubsystems(
    const std::vector<config::Resource>& resources) {
  std::set<std::string> subsystems;
  for (const config::Resource& resource : resources) {
    for (const config::MatchRule& rule : resource.match) {
      if (!rule.subsystem) return std::nullopt;
      subsystems.insert(*rule.subsystem);
    }
  }
  return subsystems;
}

Result<std::vector<std::string>> enumerateSyspaths(::udev& context,
                                                   const std::vector<config::Resource>& resources) {
  std::vector<std::string> syspaths;
  std::optional<std::set<std::string>> subsystems = ruleSubsystems(resources);
  // No rules at all: nothing can match, and an unfiltered enumeration would list every device.
  if (subsystems && subsystems->empty()) return syspaths;

  UdevEnumeratePtr enumerate(udev_enumerate_new(&context));
  if (!enumerate) return makeError(-ENOMEM, "udev_enumerate_new failed");
  if (subsystems) {
    for (const std::string& subsystem : *subsystems) {
      int rc = udev_enumerate_add_match_subsystem(enumerate.get(), subsystem.c_str());
      if (rc < 0) {
        return makeError(
            rc, "udev enumerate: cannot match subsystem " + subsystem + ": " + std::strerror(-rc));
      }
    }
  }
  int rc = udev_enumerate_scan_devices(enumerate.get());
  if (rc < 0) return makeError(rc, std::string("udev enumerate: ") + std::strerror(-rc));

  udev_list_entry* entry;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(enumerate.get())) {
    if (const char* syspath = udev_list_entry_get_name(entry)) syspaths.emplace_back(syspath);
  }
  return syspaths;
}

}  // namespace udp::udev
