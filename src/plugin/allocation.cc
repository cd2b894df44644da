#include "plugin/allocation.h"

#include <algorithm>
#include <map>
#include <set>

#include "config/container_path.h"
#include "plugin/cdi_spec.h"

namespace udp::plugin {
namespace {

std::string joined(const std::vector<const Device*>& devices, std::string Device::*field) {
  std::string out;
  std::set<std::string> seen;  // shares of one device repeat its node and serial
  for (const Device* d : devices) {
    const std::string& value = d->*field;
    if (value.empty() || !seen.insert(value).second) continue;
    if (!out.empty()) out += ',';
    out += value;
  }
  return out;
}

void addDeviceSpec(const config::Resource& resource, const std::string& hostPath,
                   std::set<std::string>& added, v1beta1::ContainerAllocateResponse& out) {
  if (hostPath.empty() || !added.insert(hostPath).second) return;
  v1beta1::DeviceSpec* spec = out.add_devices();
  spec->set_host_path(hostPath);
  spec->set_container_path(config::containerPathFor(resource.containerPath, hostPath));
  spec->set_permissions(resource.permissions);
}

}  // namespace

std::string expandTemplate(std::string_view text, std::string_view resource,
                           const std::vector<const Device*>& devices) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto starts = [&](std::string_view key) { return text.substr(i, key.size()) == key; };
    if (starts("{ids}")) {
      std::string ids;
      for (const Device* d : devices) ids += (ids.empty() ? "" : ",") + d->id;
      out += ids;
      i += 5;
    } else if (starts("{devnodes}")) {
      out += joined(devices, &Device::devnode);
      i += 10;
    } else if (starts("{serials}")) {
      out += joined(devices, &Device::serial);
      i += 9;
    } else if (starts("{resource}")) {
      out += resource;
      i += 10;
    } else {
      out += text[i++];
    }
  }
  return out;
}

grpc::Status allocate(const config::Resource& resource, const Inventory& inventory,
                      const v1beta1::AllocateRequest& request,
                      v1beta1::AllocateResponse& response) {
  for (const auto& container : request.container_requests()) {
    std::vector<const Device*> devices;
    for (const std::string& id : container.devices_ids()) {
      const Device* device = inventory.find(id);
      if (device == nullptr) {
        return {grpc::StatusCode::kInvalidArgument,
                "unknown device ID \"" + id + "\" for resource " + resource.name};
      }
      if (!device->healthy) {
        return {grpc::StatusCode::kFailedPrecondition,
                "device " + id + " of resource " + resource.name + " is unhealthy"};
      }
      devices.push_back(device);
    }
    if (config::isFixedContainerPath(resource.containerPath)) {
      std::set<std::string> nodes;  // shares of one device are one node
      for (const Device* device : devices) nodes.insert(device->devnode);
      if (nodes.size() > 1) {
        return {grpc::StatusCode::kInvalidArgument,
                "resource " + resource.name + " puts every device at containerPath " +
                    resource.containerPath + "; a container can get only one of its devices"};
      }
    }
    v1beta1::ContainerAllocateResponse* out = response.add_container_responses();
    std::set<std::string> added;
    for (const Device* device : devices) {
      if (resource.cdi) {
        // The runtime applies the device nodes from the CDI spec; listing them here as well
        // would hand the container each node twice. A device without a node has no spec entry:
        // naming it would fail the container's creation.
        if (cdiSpecNames(*device)) {
          out->add_cdi_devices()->set_name(cdiDeviceName(resource.name, device->id));
        }
        continue;
      }
      addDeviceSpec(resource, device->devnode, added, *out);
      if (resource.symlinks && resource.containerPath.empty()) {
        for (const std::string& link : device->links) addDeviceSpec(resource, link, added, *out);
      }
    }
    for (const config::Mount& mount : resource.mounts) {
      v1beta1::Mount* m = out->add_mounts();
      m->set_host_path(mount.hostPath);
      m->set_container_path(mount.containerPath);
      m->set_read_only(mount.readOnly);
    }
    for (const auto& [key, value] : resource.env) {
      (*out->mutable_envs())[key] = expandTemplate(value, resource.name, devices);
    }
    for (const auto& [key, value] : resource.annotations) {
      (*out->mutable_annotations())[key] = expandTemplate(value, resource.name, devices);
    }
  }
  return grpc::Status::Ok();
}

grpc::Status preferredAllocation(const config::Resource& resource, const Inventory& inventory,
                                 const v1beta1::PreferredAllocationRequest& request,
                                 v1beta1::PreferredAllocationResponse& response) {
  for (const auto& container : request.container_requests()) {
    auto* out = response.add_container_responses();
    if (container.allocation_size() < 0) {
      return {grpc::StatusCode::kInvalidArgument, "negative allocation_size"};
    }
    size_t wanted = static_cast<size_t>(container.allocation_size());
    std::set<std::string> chosen;
    std::map<int, size_t> chosenPerNode;
    auto nodeOf = [&](const std::string& id) {
      const Device* d = inventory.find(id);
      return d == nullptr ? -1 : d->numaNode;
    };
    for (const std::string& id : container.must_include_deviceids()) {
      if (chosen.size() >= wanted) break;
      if (chosen.insert(id).second) ++chosenPerNode[nodeOf(id)];
    }
    // Candidates grouped by node; nodes already used come first, then the fullest.
    std::map<int, std::vector<std::string>> byNode;
    for (const std::string& id : container.available_deviceids()) {
      if (!chosen.contains(id)) byNode[nodeOf(id)].push_back(id);
    }
    std::vector<std::pair<int, std::vector<std::string>>> nodes(byNode.begin(), byNode.end());
    if (resource.preferredAllocation == config::PreferredAllocation::kNuma) {
      std::stable_sort(nodes.begin(), nodes.end(), [&](const auto& a, const auto& b) {
        bool aUsed = chosenPerNode.contains(a.first), bUsed = chosenPerNode.contains(b.first);
        if (aUsed != bUsed) return aUsed;
        return a.second.size() > b.second.size();
      });
    }
    for (const auto& [node, ids] : nodes) {
      for (const std::string& id : ids) {
        if (chosen.size() >= wanted) break;
        chosen.insert(id);
      }
    }
    // Keep the kubelet's order for determinism: must-include, then available order.
    for (const std::string& id : container.must_include_deviceids()) {
      if (chosen.erase(id) > 0) out->add_deviceids(id);
    }
    for (const std::string& id : container.available_deviceids()) {
      if (chosen.erase(id) > 0) out->add_deviceids(id);
    }
  }
  return grpc::Status::Ok();
}

}  // namespace udp::plugin
