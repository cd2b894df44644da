#include "cli/check_config.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <utility>

#include "config/config_parser.h"
#include "config/container_path.h"
#include "config/dra_names.h"
#include "config/rule_overlap.h"
#include "draplugin/dra_plugin_server.h"
#include "plugin/device_source.h"
#include "udev/device_tracker.h"
#include "udev/matcher.h"
#include "udev/udev_scan.h"

namespace udp::cli {
namespace {

std::size_t varintBytes(std::uint64_t value) {
  std::size_t n = 1;
  for (; value >= 0x80; value >>= 7) ++n;
  return n;
}

// A tag byte, the length, the bytes.
std::size_t fieldBytes(std::size_t length) {
  return 1 + varintBytes(length) + length;
}

class NullSink final : public plugin::DeviceSink {
 public:
  void upsertDevice(std::string_view, plugin::Device) override {}
  void removeDevice(std::string_view, std::string_view) override {}
};

std::string quote(const std::string& name) {
  return "'" + name + "'";
}

// Devices the later resource matches but the earlier one owns, by (owner, later).
void sharedDeviceWarnings(const config::Config& config,
                          const std::vector<udev::DeviceRecord>& devices,
                          std::vector<config::Diagnostic>& out) {
  const std::vector<config::Resource>& resources = config.resources;
  std::map<std::pair<size_t, size_t>, std::vector<std::string>> taken;
  for (const udev::DeviceRecord& device : devices) {
    std::optional<size_t> owner;
    for (size_t i = 0; i < resources.size(); ++i) {
      if (!udev::matchesResource(resources[i], device)) continue;
      if (!owner) {
        owner = i;
      } else if (!resources[i].shareDevicesWithEarlierResources) {
        taken[{*owner, i}].push_back(device.devnode.empty() ? device.syspath : device.devnode);
      }
    }
  }
  constexpr size_t kNamed = 3;
  for (const auto& [pair, names] : taken) {
    const config::Resource& owner = resources[pair.first];
    const config::Resource& later = resources[pair.second];
    std::string list;
    for (size_t i = 0; i < names.size() && i < kNamed; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > kNamed) list += ", ...";
    out.push_back({later.position,
                   quote(later.name) + " matches " + std::to_string(names.size()) +
                       " device(s) present that go to " + quote(owner.name) +
                       " only, the first in the file (" + list +
                       "); set shareDevicesWithEarlierResources: true on " + quote(later.name) +
                       " to advertise them in both",
                   config::Severity::kWarning});
  }
}

void messageSizeWarnings(const config::Config& config,
                         const std::vector<udev::DeviceRecord>& devices,
                         std::vector<config::Diagnostic>& out) {
  udev::DeviceTracker tracker(config.resources);
  NullSink sink;
  for (const udev::DeviceRecord& device : devices) tracker.update(device, sink);
  for (const config::Resource& resource : config.resources) {
    std::size_t bytes = 0;
    std::vector<plugin::Device> advertised = tracker.devices(resource.name);
    for (const plugin::Device& device : advertised) {
      bytes += listAndWatchDeviceBytes(device.id.size(), false, device.numaNode);
    }
    if (bytes <= kKubeletMaxMessageBytes) continue;
    out.push_back({resource.position,
                   quote(resource.name) + " would advertise " + std::to_string(advertised.size()) +
                       " IDs (" + std::to_string(advertised.size() / resource.shares) +
                       " devices x " + std::to_string(resource.shares) +
                       " shares): a ListAndWatch message of about " + std::to_string(bytes) +
                       " bytes, over the kubelet's limit of " +
                       std::to_string(kKubeletMaxMessageBytes) +
                       "; the kubelet would drop the stream and mark every device unhealthy. "
                       "Lower 'shares' or split the resource",
                   config::Severity::kWarning});
  }
}

std::string deviceFileText(const config::DeviceFile& file) {
  std::string out;
  if (file.uid) out += " uid " + std::to_string(*file.uid);
  if (file.gid) out += " gid " + std::to_string(*file.gid);
  if (file.mode) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", *file.mode);
    out += std::string(" mode ") + mode;
  }
  return out.empty() ? out : ", device file" + out;
}

}  // namespace

std::string explainServing(const config::Config& config) {
  std::string out;
  if (const auto& dra = config.dra) {
    out += "  DRA driver " + dra->driverName + " on node " +
           (dra->nodeName.empty() ? "$NODE_NAME, else the host name" : dra->nodeName) +
           ", API server " +
           (dra->kubeconfig.empty() ? "in-cluster" : "from kubeconfig " + dra->kubeconfig) + "\n";
    draplugin::DraPluginSettings kubelet = draplugin::draPluginSettings(*dra, config.cdiDir, {});
    out += "    kubelet plugin: " + draplugin::draRegistrationSocketPath(kubelet) + ", " +
           draplugin::draEndpointPath(kubelet) + "\n";
  }
  for (const config::Resource& resource : config.resources) {
    out += "  " + resource.name + ": ";
    std::string viaDra = "DRA, DeviceClass " + config::deviceClassNameFor(resource.name);
    switch (resource.serve) {
      case config::Serve::kDevicePlugin:
        out += "device plugin";
        break;
      case config::Serve::kDra:
        out += viaDra + " with extendedResourceName " + resource.name;
        break;
      case config::Serve::kBoth:
        out += "device plugin and " + viaDra;
        break;
    }
    if (config::servedThroughDra(resource) || resource.cdi) {
      out += deviceFileText(resource.deviceFile);
    }
    out += "\n";
  }
  return out;
}

std::size_t listAndWatchDeviceBytes(std::size_t idLength, bool healthy, int numaNode) {
  std::size_t body = (idLength > 0 ? fieldBytes(idLength) : 0) + fieldBytes(healthy ? 7 : 9);
  if (numaNode >= 0) {
    // NUMANode{ID} inside TopologyInfo{nodes}; proto3 leaves out an ID of 0.
    std::size_t node = numaNode == 0 ? 0 : 1 + varintBytes(static_cast<std::uint64_t>(numaNode));
    body += fieldBytes(fieldBytes(node));
  }
  return fieldBytes(body);
}

std::vector<config::Diagnostic> deviceWarnings(const config::Config& config,
                                               const std::vector<udev::DeviceRecord>& devices) {
  std::vector<config::Diagnostic> out;
  sharedDeviceWarnings(config, devices, out);
  messageSizeWarnings(config, devices, out);
  return out;
}

int checkConfig(const std::string& path, const config::Config& config) {
  std::vector<config::Diagnostic> warnings = config::overlapWarnings(config);
  for (config::Diagnostic& warning : config::containerPathWarnings(config)) {
    warnings.push_back(std::move(warning));
  }
  Result<std::vector<udev::DeviceRecord>> devices = udev::scanRecords(config);
  if (devices) {
    for (config::Diagnostic& warning : deviceWarnings(config, *devices)) {
      warnings.push_back(std::move(warning));
    }
  } else {
    warnings.push_back(
        {{},
         "no device scan (" + devices.error().message + "): only the rules were checked",
         config::Severity::kWarning});
  }
  for (const config::Diagnostic& warning : warnings) {
    fprintf(stderr, "%s\n", config::formatDiagnostic(path, warning).c_str());
  }
  printf("%s: OK, %zu resources\n%s", path.c_str(), config.resources.size(),
         explainServing(config).c_str());
  return 0;
}

}  // namespace udp::cli
