#include "udev/matcher.h"

#include <string>

namespace udp::udev {
namespace {

bool attributesMatchAt(const std::map<std::string, std::string>& wanted, const DeviceRecord& device,
                       size_t level) {
  for (const auto& [name, pattern] : wanted) {
    std::optional<std::string> value = device.attribute(level, name);
    if (!value || !globMatch(pattern, *value)) return false;
  }
  return true;
}

bool parentAttributesMatch(const std::map<std::string, std::string>& wanted,
                           const DeviceRecord& device) {
  if (wanted.empty()) return true;
  for (size_t level = 0; level < device.levels(); ++level) {
    if (attributesMatchAt(wanted, device, level)) return true;
  }
  return false;
}

}  // namespace

bool matchesRule(const config::MatchRule& rule, const DeviceRecord& device) {
  // Cheap string keys first, so most devices are turned away before any sysfs read.
  if (rule.subsystem && *rule.subsystem != device.subsystem) return false;
  if (rule.devtype && *rule.devtype != device.devtype) return false;
  if (rule.kernel && !globMatch(*rule.kernel, device.sysname)) return false;
  if (rule.devnode && (device.devnode.empty() || !globMatch(*rule.devnode, device.devnode))) {
    return false;
  }
  if (rule.driver && (device.driver.empty() || !globMatch(*rule.driver, device.driver))) {
    return false;
  }
  for (const auto& [name, pattern] : rule.properties) {
    const std::string* value = device.property(name);
    if (value == nullptr || !globMatch(pattern, *value)) return false;
  }
  if (!attributesMatchAt(rule.attributes, device, 0)) return false;
  return parentAttributesMatch(rule.parentAttributes, device);
}

bool matchesResource(const config::Resource& resource, const DeviceRecord& device) {
  for (const config::MatchRule& rule : resource.match) {
    if (matchesRule(rule, device)) return true;
  }
  return false;
}

}  // namespace udp::udev
