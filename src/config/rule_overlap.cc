#include "config/rule_overlap.h"

#include <map>
#include <optional>
#include <string>

#include "config/glob.h"

namespace udp::config {
namespace {

bool exactMayMeet(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  return !a || !b || *a == *b;
}

bool globsMayMeet(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  return !a || !b || globsMayIntersect(*a, *b);
}

// A key only one of them names constrains one rule only, so only shared keys can separate them.
bool mapsMayMeet(const std::map<std::string, std::string>& a,
                 const std::map<std::string, std::string>& b) {
  for (const auto& [name, pattern] : a) {
    auto other = b.find(name);
    if (other != b.end() && !globsMayIntersect(pattern, other->second)) return false;
  }
  return true;
}

}  // namespace

bool rulesMayOverlap(const MatchRule& a, const MatchRule& b) {
  return exactMayMeet(a.subsystem, b.subsystem) && exactMayMeet(a.devtype, b.devtype) &&
         globsMayMeet(a.kernel, b.kernel) && globsMayMeet(a.devnode, b.devnode) &&
         globsMayMeet(a.driver, b.driver) && mapsMayMeet(a.properties, b.properties) &&
         mapsMayMeet(a.attributes, b.attributes);
}

std::vector<Diagnostic> overlapWarnings(const Config& config) {
  std::vector<Diagnostic> out;
  const std::vector<Resource>& resources = config.resources;
  for (size_t later = 0; later < resources.size(); ++later) {
    if (resources[later].shareDevicesWithEarlierResources) continue;
    for (const MatchRule& rule : resources[later].match) {
      for (size_t earlier = 0; earlier < later; ++earlier) {
        for (const MatchRule& other : resources[earlier].match) {
          if (!rulesMayOverlap(rule, other)) continue;
          out.push_back({rule.position,
                         "this rule of '" + resources[later].name +
                             "' may match the same devices as the rule of '" +
                             resources[earlier].name + "' at line " +
                             std::to_string(other.position.line) +
                             "; a device both match goes to '" + resources[earlier].name +
                             "' only (the first in the file), unless '" + resources[later].name +
                             "' sets shareDevicesWithEarlierResources: true",
                         Severity::kWarning});
        }
      }
    }
  }
  return out;
}

}  // namespace udp::config
