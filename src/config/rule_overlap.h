#pragma once

// Which resources' rules could claim the same device, from the rules alone (check-config). A
// device goes to the first resource whose rules match it (udev/device_tracker.h), so an overlap
// silently takes devices away from the later resource unless it shares on purpose.

#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"

namespace udp::config {

// False only when no device can match both rules: they require different subsystems or devtypes,
// or globs on one key (kernel, devnode, driver, a property, an attribute of the device itself)
// that no value matches both. Conservative: parentAttributes may be met on different ancestors,
// so they never separate two rules.
bool rulesMayOverlap(const MatchRule& a, const MatchRule& b);

// One warning, at the later rule, for each pair of rules of two resources that may overlap,
// unless the later resource sets shareDevicesWithEarlierResources.
std::vector<Diagnostic> overlapWarnings(const Config& config);

}  // namespace udp::config
