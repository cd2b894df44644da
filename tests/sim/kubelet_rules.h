// What the kubelet checks and how it words it, shared by the simulator's Register and plugin
// watcher paths. Test-only; nothing here may use src/.
#pragma once

#include <string>

#include <grpcpp/grpcpp.h>

namespace udp::sim {

// pkg/apis/core/v1/helper IsExtendedResourceName, which Register and the device plugin handler's
// ValidatePlugin apply.
bool isExtendedResourceName(const std::string& name);

// grpc-go's spelling of codes, so that registration errors read like a kubelet log.
const char* goCodeName(grpc::StatusCode code);

bool isSocket(const std::string& path);

}  // namespace udp::sim
