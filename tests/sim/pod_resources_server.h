// The kubelet's PodResources API (v1, List only) on grpc++, for the kubelet simulator: tests set
// the answer, and our client is judged by an independent gRPC implementation. Test-only; it must
// never use code from src/.
//
// This header names no grpc++ header, so that a test of our client can include it beside src/:
// there, <grpc/status.h> inside grpc++ would find src/grpc/status.h, and `grpc::` inside
// namespace udp would mean udp::grpc.
#pragma once

#include <chrono>
#include <condition_variable>
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
  // List calls received so far (answered, waiting, or given up by their client).
  uint64_t calls();
  // While held, List calls wait before answering, until released or until their client goes
  // away (cancels, or its deadline passes): a kubelet slow to answer.
  void hold(bool held);
  // Held List calls whose client went away before an answer.
  uint64_t abandoned();
  // The time the last List call had left when it arrived, from its grpc-timeout header; -1 when
  // it came without one.
  std::chrono::milliseconds lastTimeLeft();

 private:
  class Service;

  std::mutex serverMutex_;  // serialises start/stop
  std::unique_ptr<Service> service_;
  std::unique_ptr<::grpc::Server> server_;
  std::string path_;

  std::mutex mutex_;  // guards what the gRPC threads read
  v1::ListPodResourcesResponse content_;
  uint64_t calls_ = 0;
  bool held_ = false;
  uint64_t abandoned_ = 0;
  std::chrono::milliseconds lastTimeLeft_{-1};
  std::condition_variable released_;
};

}  // namespace udp::sim
