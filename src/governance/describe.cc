#include "governance/describe.h"

#include <ctime>
#include <set>
#include <utility>

#include "governance/describe_dra.h"
#include "plugin/cdi_spec.h"
#include "util/json_writer.h"

namespace udp::governance {
namespace {

const config::Config kNoConfig;
const config::Resource kNoResource;

void stringArray(JsonWriter& json, std::string_view key, const std::vector<std::string>& values) {
  json.key(key).beginArray();
  for (const std::string& value : values) json.value(value);
  json.endArray();
}

const config::Resource& resourceConfig(const config::Config& config, const std::string& name) {
  for (const config::Resource& resource : config.resources) {
    if (resource.name == name) return resource;
  }
  return kNoResource;
}

void library(JsonWriter& json, std::string_view key, const LibraryFacts& facts) {
  json.key(key).beginObject();
  json.key("version").value(facts.version);
  stringOrNull(json, "file", facts.file);
  stringOrNull(json, "runtimeVersion", facts.runtimeVersion);
  stringOrNull(json, "headerVersion", facts.headerVersion);
  json.endObject();
}

void pluginSection(JsonWriter& json, const ProcessFacts& process, const BuildFacts& build) {
  json.key("plugin").beginObject();
  json.key("name").value(build.name);
  json.key("version").value(build.version);
  json.key("commit").value(build.commit);
  json.key("buildType").value(build.buildType);
  json.key("linkage").value(process.linkage);
  json.key("libraries").beginObject();
  library(json, "liburing", process.liburing);
  library(json, "nghttp2", process.nghttp2);
  library(json, "protobuf", process.protobuf);
  library(json, "libudev", process.libudev);
  json.endObject();
  json.endObject();
}

void privilegesSection(JsonWriter& json, const StatusFacts& status) {
  json.key("privileges").beginObject();
  json.key("uid").value(uint64_t{status.uid});
  json.key("gid").value(uint64_t{status.gid});
  json.key("euid").value(uint64_t{status.euid});
  json.key("egid").value(uint64_t{status.egid});
  stringArray(json, "effectiveCapabilities", capabilityNames(status.effectiveCapabilities));
  stringArray(json, "boundingCapabilities", capabilityNames(status.boundingCapabilities));
  json.key("noNewPrivs").value(status.noNewPrivs);
  json.key("seccomp").value(seccompModeName(status.seccomp));
  json.endObject();
}

void kubeletSection(JsonWriter& json, const DescribeInputs& inputs, const config::Config& config) {
  json.key("kubelet").beginObject();
  json.key("directory").value(config.kubeletDir);
  json.key("socketPresent").value(inputs.kubeletSocketPresent);
  json.key("resources").beginArray();
  for (const ResourceView& view : inputs.resources) {
    json.beginObject();
    json.key("name").value(view.name);
    json.key("registration").value(view.registrationState);
    json.key("streaming").value(view.streaming);
    json.endObject();
  }
  json.endArray();
  json.endObject();
}

void device(JsonWriter& json, const plugin::Device& d) {
  json.beginObject();
  json.key("id").value(d.id);
  stringOrNull(json, "devnode", d.devnode);
  stringArray(json, "links", d.links);
  stringOrNull(json, "subsystem", d.subsystem);
  stringOrNull(json, "driver", d.driver);
  stringOrNull(json, "vendor", d.vendor);
  stringOrNull(json, "model", d.model);
  stringOrNull(json, "serial", d.serial);
  json.key("numaNode");
  if (d.numaNode < 0) {
    json.null();
  } else {
    json.value(d.numaNode);
  }
  json.key("health").value(d.healthy ? "Healthy" : "Unhealthy");
  json.endObject();
}

// What Allocate gives a container for this resource's devices (plugin/allocation.cc): keys and
// paths, never the expanded values, which depend on the allocation.
void handedToContainers(JsonWriter& json, const config::Resource& resource,
                        const ResourceView& view) {
  std::vector<std::string> hostPaths;
  std::set<std::string> seen;  // shares of one device repeat its node
  auto add = [&](const std::string& path) {
    if (!path.empty() && seen.insert(path).second) hostPaths.push_back(path);
  };
  for (const plugin::Device& d : view.devices) {
    add(d.devnode);
    if (resource.symlinks && resource.containerPath.empty()) {
      for (const std::string& link : d.links) add(link);
    }
  }

  json.key("handedToContainers").beginObject();
  stringArray(json, "hostPaths", hostPaths);
  json.key("mounts").beginArray();
  for (const config::Mount& mount : resource.mounts) {
    json.beginObject();
    json.key("hostPath").value(mount.hostPath);
    json.key("containerPath").value(mount.containerPath);
    json.key("readOnly").value(mount.readOnly);
    json.endObject();
  }
  json.endArray();
  json.key("envKeys").beginArray();
  for (const auto& entry : resource.env) json.value(entry.first);
  json.endArray();
  json.key("annotationKeys").beginArray();
  for (const auto& entry : resource.annotations) json.value(entry.first);
  json.endArray();
  json.key("cdiNames").beginArray();
  if (resource.cdi) {
    for (const plugin::Device& d : view.devices) {
      json.value(plugin::cdiDeviceName(resource.name, d.id));
    }
  }
  json.endArray();
  json.key("permissions").value(resource.permissions);
  stringOrNull(json, "containerPath", resource.containerPath);
  json.endObject();
}

void driverPrerequisites(JsonWriter& json, const ResourceView& view) {
  std::set<std::pair<std::string, std::string>> drivers;
  for (const plugin::Device& d : view.devices) {
    if (!d.driver.empty()) drivers.emplace(d.driver, d.module);
  }
  json.key("driverPrerequisites").beginArray();
  for (const auto& [driver, module] : drivers) {
    json.beginObject();
    json.key("driver").value(driver);
    stringOrNull(json, "module", module);
    json.endObject();
  }
  json.endArray();
}

void resourcesSection(JsonWriter& json, const DescribeInputs& inputs,
                      const config::Config& config) {
  json.key("resources").beginArray();
  for (const ResourceView& view : inputs.resources) {
    const config::Resource& resource = resourceConfig(config, view.name);
    json.beginObject();
    json.key("name").value(view.name);
    json.key("devices").beginArray();
    for (const plugin::Device& d : view.devices) device(json, d);
    json.endArray();
    handedToContainers(json, resource, view);
    driverPrerequisites(json, view);
    json.endObject();
  }
  json.endArray();
}

void healthSection(JsonWriter& json, const DescribeInputs& inputs, const config::Config& config) {
  json.key("healthMonitoring").beginObject();
  json.key("eventSource").value(inputs.eventSource);
  json.key("onRemove").beginArray();
  for (const config::Resource& resource : config.resources) {
    json.beginObject();
    json.key("resource").value(resource.name);
    json.key("policy").value(resource.onRemove == config::OnRemove::kUnhealthy ? "unhealthy"
                                                                               : "drop");
    json.endObject();
  }
  json.endArray();
  json.key("attributeRules").beginArray();
  for (const config::Resource& resource : config.resources) {
    if (!resource.health) continue;
    json.beginObject();
    json.key("resource").value(resource.name);
    json.key("attribute").value(resource.health->name);
    json.key("healthy").value(resource.health->healthy);
    json.endObject();
  }
  json.endArray();
  stringOrNull(json, "metricsAddress", inputs.metricsAddress);
  json.endObject();
}

}  // namespace

std::string rfc3339Utc(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, n);
}

std::string describeJson(const DescribeInputs& inputs, const ProcessFacts& process,
                         const BuildFacts& build) {
  const config::Config& config = inputs.config != nullptr ? *inputs.config : kNoConfig;
  JsonWriter json;
  json.beginObject();
  pluginSection(json, process, build);
  json.key("deployment").beginObject();
  json.key("startedBy").value(process.startedBy);
  json.key("nodeName").value(process.nodeName);
  json.endObject();
  privilegesSection(json, process.status);
  kubeletSection(json, inputs, config);
  json.key("config").beginObject();
  json.key("path").value(inputs.configPath);
  json.key("sha256").value(inputs.configSha256);
  json.endObject();
  resourcesSection(json, inputs, config);
  healthSection(json, inputs, config);
  draSection(json, inputs, config);
  json.key("generatedAt")
      .value(rfc3339Utc(inputs.generatedAt.value_or(std::chrono::system_clock::now())));
  json.key("live").value(inputs.live);
  json.endObject();
  return json.take();
}

}  // namespace udp::governance
