#pragma once

// Checks on single config values, apart from the schema walk so that each is testable alone.
// Each returns nullopt when the value is fine, else what is wrong, phrased to follow the name
// of the field ("'containerPath' " + message).

#include <optional>
#include <string>
#include <string_view>

namespace udp::config {

// Absolute, no ".." component, no NUL: paths handed to the container runtime.
std::optional<std::string> pathError(std::string_view path);

// A non-empty combination of r, w and m, each at most once (DeviceSpec.permissions).
std::optional<std::string> permissionsError(std::string_view permissions);

// [A-Za-z_][A-Za-z0-9_]*: a name every shell and libc accept.
bool isEnvVarName(std::string_view name);

// Placeholders are {identifier}; only {ids} {devnodes} {serials} {resource} exist. Other braces
// (JSON in a value, "{ x }") are literal text.
std::optional<std::string> templateError(std::string_view value);

}  // namespace udp::config
