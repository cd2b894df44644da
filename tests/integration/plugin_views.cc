#include "plugin_views.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "host_devices.h"
#include "test_helpers.h"

namespace udp::testing {

std::string describe(const Inventory& inventory) {
  std::string text;
  for (const auto& [id, health] : inventory) text += " " + id + ":" + health;
  return text.empty() ? " (none)" : text;
}

std::optional<std::map<std::string, Inventory>> freshScan(const std::string& binary,
                                                          const std::string& config) {
  auto result = runCommand({binary, "list", "--config", config});
  if (result.status != 0) return std::nullopt;
  std::map<std::string, Inventory> scan;
  std::istringstream lines(result.out);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string resource, id, health;
    if (!(fields >> resource >> id)) continue;
    Inventory& inventory = scan[resource];
    if (id == "(no") continue;  // "(no matching devices)"
    fields >> health;
    inventory[id] = health;
  }
  return scan;
}

std::string endpointOf(const std::string& resource) {
  std::string name = resource;
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  return name + ".sock";
}

std::string metricsPage(const std::string& socketPath) {
  return httpGet(socketPath, "/metrics").body;
}

int registeredGauge(const std::string& page, const std::string& resource) {
  std::string series = "\nudev_device_plugin_registered{resource=\"" + resource + "\"} ";
  size_t at = page.find(series);
  if (at == std::string::npos) return -1;
  return page.compare(at + series.size(), 1, "1") == 0 ? 1 : 0;
}

std::string streamMetrics(const std::string& page) {
  std::istringstream lines(page);
  std::string picked;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("udev_device_plugin_registered{") ||
        line.starts_with("udev_device_plugin_listandwatch_streams{")) {
      picked += line + "\n";
    }
  }
  return picked;
}

}  // namespace udp::testing
