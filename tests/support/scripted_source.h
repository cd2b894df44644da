#pragma once

// A DeviceSource for integration tests: devices come as text lines on a file descriptor (the
// test writes to the plugin's stdin), one command per line:
//   add RESOURCE ID [unhealthy] [numa=N] [devnode=PATH] [serial=S]
//   remove RESOURCE ID
// Everything read in one reactor turn is applied together, like a burst of uevents.

#include <string>

#include "plugin/device_source.h"
#include "reactor/reactor.h"

namespace udp::testing {

class ScriptedSource final : public plugin::DeviceSource {
 public:
  explicit ScriptedSource(int fd) : fd_(fd) {}
  Result<void> start(reactor::Reactor& reactor, plugin::DeviceSink& sink) override;
  void stop() override;
  bool idle() const override { return !readOp_.pending(); }

 private:
  void onRead(int res, uint32_t flags) noexcept;
  void apply(std::string_view line);

  int fd_;  // borrowed (stdin)
  reactor::Reactor* reactor_ = nullptr;
  plugin::DeviceSink* sink_ = nullptr;
  bool stopped_ = false;
  std::string pending_;
  char buffer_[4096];  // owned by the kernel while readOp_ is pending
  reactor::Op readOp_{reactor::bindOp<&ScriptedSource::onRead>(this)};
};

}  // namespace udp::testing
