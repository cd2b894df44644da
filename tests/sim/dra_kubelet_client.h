// The kubelet's side of the DRA driver's sockets on grpc++ (a real gRPC implementation, not
// ours): GetInfo and NotifyRegistrationStatus on the registration socket, NodePrepareResources and
// NodeUnprepareResources (v1 or v1beta1) and NodeWatchResources (v1 or v1alpha1) on dra.sock, over
// one channel as the kubelet keeps one connection. Test-only; nothing here uses src/.
//
// This header names no grpc++ header, so that a test of our server can include it beside src/
// (see pod_resources_server.h). Calls block: tests run them on a thread of their own while
// their reactor turns.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dra.pb.h"
#include "dra_health.pb.h"
#include "pluginregistration.pb.h"

namespace udp::sim {

struct DraCallStatus {
  int code = 0;  // grpc::StatusCode
  std::string message;
  bool ok() const { return code == 0; }
};

namespace drapb = k8s::io::kubelet::pkg::apis::dra::v1;

DraCallStatus draGetInfo(const std::string& registrationSocket,
                         pluginregistration::PluginInfo& info);
DraCallStatus draNotifyRegistration(const std::string& registrationSocket, bool registered,
                                    const std::string& error);

class DraKubeletClient {
 public:
  explicit DraKubeletClient(const std::string& endpoint);
  ~DraKubeletClient();
  DraKubeletClient(const DraKubeletClient&) = delete;
  DraKubeletClient& operator=(const DraKubeletClient&) = delete;

  // `v1beta1`: through the v1beta1 service, its messages converted byte for byte.
  DraCallStatus prepare(const drapb::NodePrepareResourcesRequest& request,
                        drapb::NodePrepareResourcesResponse& response, bool v1beta1 = false,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  DraCallStatus unprepare(const drapb::NodeUnprepareResourcesRequest& request,
                          drapb::NodeUnprepareResourcesResponse& response, bool v1beta1 = false,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Opens NodeWatchResources (v1, or v1alpha1 as kubelets before 1.37 call it) and reads it on a
  // thread of its own until stopWatch() or the stream ends.
  void startWatch(bool v1alpha1 = false);
  std::vector<::v1::NodeWatchResourcesResponse> watchMessages();
  // The stream's final status, once it ended.
  std::optional<DraCallStatus> watchEnded();
  void stopWatch();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace udp::sim
