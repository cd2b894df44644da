#pragma once

// The kubelet simulator behind an interface free of grpc++, which cannot share a translation
// unit with src/ (see tests/sim/pod_resources_server.h): the registration test uses this one.

#include <memory>
#include <string>

namespace udp::testing {

class SimHandle {
 public:
  // cleanupOnStart: the simulator removes every socket in `dir` on start, as the kubelet does.
  SimHandle(const std::string& dir, bool cleanupOnStart = true);
  ~SimHandle();
  bool start();
  void stop();
  std::string socketPath() const;
  // Successful Register calls of `resource` so far (0 before any).
  int registrations(const std::string& resource);
  size_t registrationErrors();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace udp::testing
