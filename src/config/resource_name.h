#pragma once

// The kubelet's check of RegisterRequest.resource_name (DESIGN.md §3), so that a bad name is
// reported when the config is loaded instead of as an UNKNOWN status from every Register.

#include <optional>
#include <string>
#include <string_view>

namespace udp::config {

// nullopt when the kubelet accepts `name` in Register; otherwise which rule failed, phrased to
// follow "invalid resource name 'x': ". Mirrors v1helper.IsExtendedResourceName exactly,
// including its quirks (see resource_name.cc).
std::optional<std::string> resourceNameError(std::string_view name);

}  // namespace udp::config
