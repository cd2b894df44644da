#include "governance/describe_offline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "config/dra_names.h"
#include "dra/resource_slice_builder.h"
#include "governance/describe_dra.h"
#include "governance/json_pretty.h"
#include "governance/sha256.h"
#include "udev/udev_device_source.h"
#include "udev/udev_scan.h"
#include "util/unique_fd.h"

namespace udp::governance {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 2;

bool isSocket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

std::optional<DraView> offlineDraView(const config::Config& config,
                                      const std::vector<ResourceView>& resources,
                                      const std::string& nodeName) {
  if (!servesDra(config)) return std::nullopt;
  DraView view = draViewOf(config, nodeName);
  // Without a node name there is no pool to name: the daemon would refuse to start.
  if (nodeName.empty()) return view;
  dra::PoolSpec pool;
  pool.driver = config.dra->driverName;
  pool.nodeName = nodeName;
  pool.generation = 1;
  for (const config::Resource& resource : config.resources) {
    if (!config::servedThroughDra(resource)) continue;
    for (const ResourceView& scanned : resources) {
      if (scanned.name != resource.name) continue;
      for (const plugin::Device& device : scanned.devices) {
        pool.devices.push_back({resource.name, device, {}});
      }
    }
  }
  // Unhealthy devices as on a release with device taints (1.36 and later): tainted, listed.
  if (auto slices = dra::buildResourceSlices(pool); slices) {
    for (const dra::ResourceSliceBody& slice : *slices)
      view.plannedSlices[slice.name] = slice.devices;
  }
  return view;
}

// The digest must be of the bytes on disk, not of the parsed config, so it can be compared with
// `sha256sum` of the deployed file. Read again rather than threaded through the config loader;
// a file replaced in between is hashed as it is now, which is what the record describes.
Result<std::string> readFileBytes(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    int error = errno;
    return makeError(-error, "cannot open " + path + ": " + std::strerror(error));
  }
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      int error = errno;
      if (error == EINTR) continue;
      return makeError(-error, "cannot read " + path + ": " + std::strerror(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

Result<std::string> configFileSha256(const std::string& path) {
  Result<std::string> bytes = readFileBytes(path);
  if (!bytes) return bytes.error();
  return sha256Hex(*bytes);
}

Result<DescribeInputs> offlineInputs(const std::string& configPath, const config::Config& config) {
  Result<std::string> bytes = readFileBytes(configPath);
  if (!bytes) return bytes.error();
  Result<std::vector<udev::ScannedDevice>> scanned = udev::scanOnce(config);
  if (!scanned) return makeError(scanned.error().code, "scan failed: " + scanned.error().message);

  DescribeInputs inputs;
  // Absolute, so a record read on another machine still names the file; as given when it no
  // longer resolves.
  char resolved[PATH_MAX];
  inputs.configPath = ::realpath(configPath.c_str(), resolved) != nullptr ? resolved : configPath;
  inputs.configSha256 = sha256Hex(*bytes);
  inputs.config = &config;
  for (const config::Resource& resource : config.resources) {
    ResourceView view{resource.name, kNotRunning, false, {}};
    for (udev::ScannedDevice& entry : *scanned) {
      if (entry.resource == resource.name) view.devices.push_back(std::move(entry.device));
    }
    inputs.resources.push_back(std::move(view));
  }
  inputs.eventSource = udev::resolveSource(config.udevSource);
  inputs.live = false;
  inputs.kubeletSocketPresent = isSocket(config.kubeletDir + "/kubelet.sock");
  if (servesDra(config)) {
    Result<std::string> node = config::resolveNodeName(config.dra->nodeName);
    inputs.dra = offlineDraView(config, inputs.resources, node ? *node : std::string());
  }
  return inputs;
}

int describeOffline(const std::string& configPath, const config::Config& config) {
  Result<DescribeInputs> inputs = offlineInputs(configPath, config);
  if (!inputs) {
    fprintf(stderr, "error: %s\n", inputs.error().message.c_str());
    return kExitRuntime;
  }
  std::string record = describeJson(*inputs, readProcessFacts(), currentBuildFacts());
  fputs(prettyJson(record).c_str(), stdout);
  return kExitOk;
}

}  // namespace udp::governance
