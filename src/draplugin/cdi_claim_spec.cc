#include "draplugin/cdi_claim_spec.h"

#include <set>

#include "config/container_path.h"
#include "plugin/allocation.h"
#include "util/json_writer.h"

namespace udp::draplugin {

std::string cdiClaimKind(std::string_view driver) {
  return std::string(driver) + "/claim";
}

std::string cdiClaimDeviceId(std::string_view driver, std::string_view claimUid,
                             std::string_view deviceName) {
  return cdiClaimKind(driver) + "=" + std::string(claimUid) + "-" + std::string(deviceName);
}

std::string cdiClaimSpecFileName(std::string_view driver, std::string_view claimUid) {
  // A resource spec of the device plugin is "<domain>-<name>.json" and a resource name cannot
  // contain '_': the two never collide.
  return std::string(driver) + "-claim_" + std::string(claimUid) + ".json";
}

bool hasCdiEntry(const plugin::Device& device) {
  return !device.devnode.empty();
}

namespace {

// hostPath is always the node itself: the runtime lstat()s it for the type and numbers, and a
// /dev link would read as "not a device node". Type, major and minor are left to that lstat, so
// a node renumbered since the claim was prepared is still the one handed over.
void deviceNode(JsonWriter& json, const config::Resource& resource, std::string_view path,
                std::string_view hostPath) {
  json.beginObject();
  json.key("path").value(path);
  json.key("hostPath").value(hostPath);
  json.key("permissions").value(resource.permissions);
  const config::DeviceFile& file = resource.deviceFile;
  // os.FileMode in the CDI spec (Go's encoding: a decimal number); only the permission bits.
  if (file.mode) json.key("fileMode").value(static_cast<uint64_t>(*file.mode & 07777));
  if (file.uid) json.key("uid").value(static_cast<uint64_t>(*file.uid));
  if (file.gid) json.key("gid").value(static_cast<uint64_t>(*file.gid));
  json.endObject();
}

void deviceEdits(JsonWriter& json, const ClaimSpecDevice& entry,
                 const std::vector<const plugin::Device*>& sameResource) {
  const config::Resource& resource = entry.resource;
  const plugin::Device& device = entry.device;
  json.key("containerEdits").beginObject();
  if (!resource.env.empty()) {
    json.key("env").beginArray();
    for (const auto& [key, value] : resource.env) {
      json.value(key + "=" + plugin::expandTemplate(value, resource.name, sameResource));
    }
    json.endArray();
  }
  json.key("deviceNodes").beginArray();
  deviceNode(json, resource, config::containerPathFor(resource.containerPath, device.devnode),
             device.devnode);
  if (resource.symlinks && resource.containerPath.empty()) {
    std::set<std::string> added{device.devnode};
    for (const std::string& link : device.links) {
      if (added.insert(link).second) deviceNode(json, resource, link, device.devnode);
    }
  }
  json.endArray();
  if (!resource.mounts.empty()) {
    json.key("mounts").beginArray();
    for (const config::Mount& mount : resource.mounts) {
      json.beginObject();
      json.key("hostPath").value(mount.hostPath);
      json.key("containerPath").value(mount.containerPath);
      json.key("type").value("bind");
      json.key("options").beginArray();
      json.value("rbind").value(mount.readOnly ? "ro" : "rw");
      json.endArray();
      json.endObject();
    }
    json.endArray();
  }
  json.endObject();
}

}  // namespace

std::string renderClaimCdiSpec(std::string_view driver, std::string_view claimUid,
                               const std::vector<ClaimSpecDevice>& devices) {
  bool any = false;
  for (const ClaimSpecDevice& entry : devices) any = any || hasCdiEntry(entry.device);
  if (!any) return {};
  JsonWriter json;
  json.beginObject();
  // 0.5.0: the first version with hostPath on device nodes (and device names that start with a
  // digit, as a UID may); fileMode, uid and gid are older. Every CDI-aware runtime reads it.
  json.key("cdiVersion").value("0.5.0");
  json.key("kind").value(cdiClaimKind(driver));
  json.key("devices").beginArray();
  for (const ClaimSpecDevice& entry : devices) {
    if (!hasCdiEntry(entry.device)) continue;
    std::vector<const plugin::Device*> sameResource;
    for (const ClaimSpecDevice& other : devices) {
      if (other.resource.name == entry.resource.name) sameResource.push_back(&other.device);
    }
    json.beginObject();
    json.key("name").value(std::string(claimUid) + "-" + entry.deviceName);
    deviceEdits(json, entry, sameResource);
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.take() + "\n";
}

}  // namespace udp::draplugin
