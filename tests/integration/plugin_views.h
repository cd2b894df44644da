#pragma once

// The plugin as the lifecycle matrix sees it from outside: a fresh scan (`udev-device-plugin
// list`), its metrics page, and its socket names.

#include <map>
#include <optional>
#include <string>

namespace udp::testing {

// Health per device ID.
using Inventory = std::map<std::string, std::string>;

// " id:health ..." for a failure message.
std::string describe(const Inventory& inventory);

// `<binary> list --config <config>` per resource (resources without devices included, empty);
// nullopt when it fails.
std::optional<std::map<std::string, Inventory>> freshScan(const std::string& binary,
                                                          const std::string& config);

// The socket file a resource is served on: example.com/zram -> example.com_zram.sock.
std::string endpointOf(const std::string& resource);

// GET /metrics over the plugin's unix socket: the page, "" when nobody answers.
std::string metricsPage(const std::string& socketPath);

// The plugin's own udev_device_plugin_registered gauge of `resource`: 1, 0, or -1 when absent.
int registeredGauge(const std::string& page, const std::string& resource);

// The registration and stream lines of a metrics page.
std::string streamMetrics(const std::string& page);

}  // namespace udp::testing
