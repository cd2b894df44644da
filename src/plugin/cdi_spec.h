#pragma once

// The Container Device Interface spec of a resource with `cdi: true`: one CDI device per device
// ID, so that Allocate can answer with fully qualified names (vendor.com/class=ID) and the
// container runtime applies the device nodes itself.

#include <string>

#include "config/config.h"
#include "plugin/inventory.h"

namespace udp::plugin {

// "example.com/serial" + "ttyUSB0" → "example.com/serial=ttyUSB0".
std::string cdiDeviceName(std::string_view resource, std::string_view id);
// The spec's file name inside cdiDir: "example.com-serial.json".
std::string cdiSpecFileName(std::string_view resource);
// Whether the spec has an entry for `device`: only a device node is something for the runtime
// to inject (CDI refuses a device with no edits). Allocate names exactly these, so that the
// runtime never meets a CDI name its spec lacks.
bool cdiSpecNames(const Device& device);
// The spec as JSON (pure).
std::string renderCdiSpec(const config::Resource& resource, const Inventory& inventory);

}  // namespace udp::plugin
