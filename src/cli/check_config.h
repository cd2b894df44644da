#pragma once

// `udev-device-plugin check-config`, past the parse (whose errors reject the config): warnings
// about what the config would do on this machine. Rules of two resources that may claim the same
// device (config/rule_overlap.h); a fixed containerPath (config/container_path.h); from one scan,
// the devices two resources do match; and the resources whose ListAndWatch message would exceed
// what the kubelet accepts.

#include <cstddef>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"
#include "udev/device_record.h"

namespace udp::cli {

// grpc-go's default receive limit, which the kubelet keeps: a larger ListAndWatchResponse ends
// the stream, the kubelet marks every device unhealthy and never dials again (DESIGN.md §3).
inline constexpr std::size_t kKubeletMaxMessageBytes = 4 * 1024 * 1024;

// One Device inside ListAndWatchResponse, its field tag and length included: the ID, the health
// string and, for a known NUMA node (>= 0), the topology.
std::size_t listAndWatchDeviceBytes(std::size_t idLength, bool healthy, int numaNode);

// From the devices present: one warning per pair of resources where the later one matches
// devices that the earlier one owns (unless it shares them on purpose), and one per resource
// whose ListAndWatchResponse, with every device present, each share and every device unhealthy
// (the longer health string), would exceed kKubeletMaxMessageBytes.
std::vector<config::Diagnostic> deviceWarnings(const config::Config& config,
                                               const std::vector<udev::DeviceRecord>& devices);

// What the config asks for beyond the rules, one indented line each: the DRA driver (its name,
// node, API server and kubelet sockets) when there is one, then each resource and the kubelet
// API that serves it (with its DeviceClass and device file owner and mode through DRA).
std::string explainServing(const config::Config& config);

// Prints every warning to stderr, "PATH: OK, N resources" and explainServing to stdout; returns
// 0. A scan that fails is one more warning: only the rules were checked then.
int checkConfig(const std::string& path, const config::Config& config);

}  // namespace udp::cli
