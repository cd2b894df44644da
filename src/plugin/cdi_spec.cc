#include "plugin/cdi_spec.h"

#include <algorithm>
#include <set>

#include "config/container_path.h"
#include "util/json_writer.h"

namespace udp::plugin {

std::string cdiDeviceName(std::string_view resource, std::string_view id) {
  return std::string(resource) + "=" + std::string(id);
}

std::string cdiSpecFileName(std::string_view resource) {
  std::string name(resource);
  std::replace(name.begin(), name.end(), '/', '-');
  return name + ".json";
}

bool cdiSpecNames(const Device& device) {
  return !device.devnode.empty();
}

namespace {

// hostPath is always the node itself, also for a link's entry: the runtime lstat()s hostPath for
// the type and numbers, and a /dev link reads as "not a device node".
void deviceNode(JsonWriter& json, const config::Resource& resource, const std::string& path,
                const std::string& hostPath) {
  json.beginObject();
  json.key("path").value(config::containerPathFor(resource.containerPath, path));
  json.key("hostPath").value(hostPath);
  json.key("permissions").value(resource.permissions);
  json.endObject();
}

}  // namespace

std::string renderCdiSpec(const config::Resource& resource, const Inventory& inventory) {
  JsonWriter json;
  json.beginObject();
  // 0.5.0 is the first version with hostPath on device nodes; every CDI-aware runtime reads it.
  json.key("cdiVersion").value("0.5.0");
  json.key("kind").value(resource.name);
  json.key("devices").beginArray();
  for (const auto& [id, device] : inventory.devices()) {
    if (!cdiSpecNames(device)) continue;
    json.beginObject();
    json.key("name").value(id);
    json.key("containerEdits").beginObject();
    json.key("deviceNodes").beginArray();
    std::set<std::string> added{device.devnode};
    deviceNode(json, resource, device.devnode, device.devnode);
    if (resource.symlinks && resource.containerPath.empty()) {
      for (const std::string& link : device.links) {
        if (added.insert(link).second) deviceNode(json, resource, link, device.devnode);
      }
    }
    json.endArray();
    json.endObject();
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.take() + "\n";
}

}  // namespace udp::plugin
