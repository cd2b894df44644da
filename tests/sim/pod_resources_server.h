// The kubelet's PodResources API (v1, List only) on grpc++, for the kubelet simulator: tests set
// the answer, and our client is judged by an independent gRPC implementation. Test-only; it must
// never use code from src/.
//
// This header names no grpc++ header, so that a test of our client can include it beside src/:
// there, <grpc/status.h> inside grpc++ would find src/grpc/status.h, and `grpc::` inside
// namespace udp would mean udp::grpc.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "podresources.pb.h"

namespace grpc {
class Server;
}

namespace udp::sim {

class PodResourcesServer {
 public:
  PodResourcesServer();
  ~PodResourcesServer();
  PodResourcesServer(const PodResourcesServer&) = delete;
  PodResourcesServer& operator=(const PodResourcesServer&) = delete;

  // Listens on `path` (absolute; its directory is created, a stale socket there replaced).
  bool start(const std::string& path);
  // Stops serving and removes the socket file.
  void stop();

  // What List answers from now on.
  void set(v1::ListPodResourcesResponse content);
  // List calls answered so far.
  uint64_t calls();

 private:
  class Service;

  std::mutex serverMutex_;  // serialises start/stop
  std::unique_ptr<Service> service_;
  std::unique_ptr<::grpc::Server> server_;
  std::string path_;

  std::mutex mutex_;  // guards what the gRPC threads read
  v1::ListPodResourcesResponse content_;
  uint64_t calls_ = 0;
};

}  // namespace udp::sim
