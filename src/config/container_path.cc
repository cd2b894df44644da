#include "config/container_path.h"

namespace udp::config {

std::string containerPathFor(std::string_view containerPath, std::string_view hostPath) {
  if (containerPath.empty()) return std::string(hostPath);
  if (!containerPath.ends_with('/')) return std::string(containerPath);
  std::string_view below = hostPath;
  if (below.starts_with("/dev/")) below.remove_prefix(5);
  while (below.starts_with('/')) below.remove_prefix(1);
  return std::string(containerPath) + std::string(below);
}

bool isFixedContainerPath(std::string_view containerPath) {
  return !containerPath.empty() && !containerPath.ends_with('/');
}

std::vector<Diagnostic> containerPathWarnings(const Config& config) {
  std::vector<Diagnostic> out;
  for (const Resource& resource : config.resources) {
    if (!isFixedContainerPath(resource.containerPath)) continue;
    out.push_back({resource.position,
                   "'" + resource.name + "' puts every device node at containerPath '" +
                       resource.containerPath +
                       "': a container that asks for more than one device is refused; end it "
                       "with '/' to make it a directory that holds each node by its name",
                   Severity::kWarning});
  }
  return out;
}

}  // namespace udp::config
