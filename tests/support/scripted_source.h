#pragma once

// A DeviceSource for integration tests: devices come as text lines on a file descriptor (the
// test writes to the plugin's stdin), one command per line:
//   add RESOURCE ID [unhealthy] [numa=N] [devnode=PATH] [serial=S]
//   remove RESOURCE ID
//   vanish RESOURCE ID     (gone without an event: only the next scan, after a reload, sees it)
// Everything read in one reactor turn is applied together, like a burst of uevents.

#include <map>
#include <string>

#include "plugin/device_source.h"
#include "reactor/reactor.h"

namespace udp::testing {

// The devices the script says are present, per resource: each one's "add" line after its ID (a
// line is a tenth of a plugin::Device, which keeps the harness out of the memory figures). It
// outlives every source, so that a source made after a reload scans it at start as a udev source
// scans sysfs.
using ScriptedWorld = std::map<std::string, std::map<std::string, std::string>, std::less<>>;

class ScriptedSource final : public plugin::DeviceSource {
 public:
  ScriptedSource(int fd, ScriptedWorld& world) : fd_(fd), world_(world) {}
  Result<void> start(reactor::Reactor& reactor, plugin::DeviceSink& sink) override;
  void stop() override;
  bool idle() const override { return scope_.idle(); }

 private:
  void onRead(int res, uint32_t flags) noexcept;
  void apply(std::string_view line);

  int fd_;  // borrowed (stdin)
  ScriptedWorld& world_;
  reactor::OpScope scope_;
  reactor::Reactor* reactor_ = nullptr;
  plugin::DeviceSink* sink_ = nullptr;
  bool stopped_ = false;
  std::string pending_;
  char buffer_[4096];  // owned by the kernel while readOp_ is pending
  reactor::Op readOp_{reactor::bindOp<&ScriptedSource::onRead>(this, scope_)};
};

}  // namespace udp::testing
