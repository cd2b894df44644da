#pragma once

// What a resource's containerPath means (DESIGN.md §2), for Allocate, the CDI spec and
// check-config alike:
//   empty            each device node at its host path;
//   ends with '/'    a directory: each node under it by its path below /dev ("/dev/serial/" and
//                    /dev/ttyUSB0 give /dev/serial/ttyUSB0; /dev/bus/usb/001/002 gives
//                    /dev/serial/bus/usb/001/002), so two nodes never share a path;
//   anything else    one fixed path, for a container that gets one device: Allocate refuses a
//                    container more than one node (they would all land on that path, the last
//                    one winning), and check-config warns.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"

namespace udp::config {

// Where the node at `hostPath` appears in the container.
std::string containerPathFor(std::string_view containerPath, std::string_view hostPath);

// True for the fixed form: set and not ending in '/'.
bool isFixedContainerPath(std::string_view containerPath);

// A warning at each resource with a fixed containerPath.
std::vector<Diagnostic> containerPathWarnings(const Config& config);

}  // namespace udp::config
