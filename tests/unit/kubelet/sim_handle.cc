#include "sim_handle.h"

#include "kubelet_sim.h"

namespace udp::testing {

struct SimHandle::Impl {
  sim::KubeletSim sim;
};

SimHandle::SimHandle(const std::string& dir, bool cleanupOnStart)
    : impl_(new Impl{
          sim::KubeletSim(sim::SimOptions{.dir = dir, .cleanupOnStart = cleanupOnStart})}) {}

SimHandle::~SimHandle() = default;

bool SimHandle::start() {
  return impl_->sim.start();
}

void SimHandle::stop() {
  impl_->sim.stop();
}

std::string SimHandle::socketPath() const {
  return impl_->sim.socketPath();
}

int SimHandle::registrations(const std::string& resource) {
  auto info = impl_->sim.plugin(resource);
  return info ? info->registrations : 0;
}

size_t SimHandle::registrationErrors() {
  return impl_->sim.registrationErrors().size();
}

}  // namespace udp::testing
