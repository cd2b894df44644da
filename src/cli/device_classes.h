#pragma once

// `udev-device-plugin deviceclasses` (docs/dra.md): one DeviceClass (resource.k8s.io/v1) per
// resource served through DRA, as YAML documents that `kubectl apply -f -` takes.

#include <string>
#include <string_view>

#include "config/config.h"

namespace udp::cli {

// The CEL selector of a resource's class: this driver's devices of that resource.
std::string deviceClassSelector(std::string_view driver, std::string_view resource);

// The classes of `config`'s resources served through DRA (serve: dra or both), in config order,
// each a document starting with "---"; empty when there are none. Pure. Resources served only
// through DRA also get spec.extendedResourceName: a resource served both ways is advertised by
// the device plugin already, and a node must not offer one extended resource both ways.
std::string deviceClassesYaml(const config::Config& config);

// Prints deviceClassesYaml to stdout; returns the exit status (1 when no resource is served
// through DRA, with a message on stderr naming `configPath`).
int printDeviceClasses(const std::string& configPath, const config::Config& config);

}  // namespace udp::cli
