#pragma once

// The seam between where devices come from and the inventory (DESIGN.md §5.5): udev in
// production, a scripted source in tests. A source reports per resource; the inventory coalesces
// everything reported within one reactor turn into one ListAndWatch message per resource.

#include <string>
#include <string_view>

#include "plugin/device.h"
#include "util/result.h"

namespace udp::reactor {
class Reactor;
}

namespace udp::plugin {

class DeviceSink {
 public:
  virtual ~DeviceSink() = default;
  // Adds the device, or replaces the one with the same id.
  virtual void upsertDevice(std::string_view resource, Device device) = 0;
  virtual void removeDevice(std::string_view resource, std::string_view id) = 0;
  // For the metrics: each uevent read, and each full rescan after lost events.
  virtual void onUevent(std::string_view /*action*/) {}
  virtual void onRescan() {}
  // The source works: once started, and again after a failure (after its reconciling rescan).
  virtual void onSourceUp() {}
  // The source failed (it has logged `cause` once) and retries with capped backoff; until
  // onSourceUp, device changes go unseen.
  virtual void onSourceDown(std::string_view /*cause*/) {}
};

class DeviceSource {
 public:
  virtual ~DeviceSource() = default;
  // Reports every present device, then keeps reporting changes from reactor completions.
  virtual Result<void> start(reactor::Reactor& reactor, DeviceSink& sink) = 0;
  // Stops reporting; ops still in flight complete later. Free the source once idle().
  virtual void stop() = 0;
  virtual bool idle() const = 0;
  // For the log: where devices come from, once started.
  virtual std::string summary() const { return {}; }
  // For describe: "udev" or "kernel" (what delivers the events), or another word for sources
  // that are neither.
  virtual std::string eventSource() const { return "none"; }
};

}  // namespace udp::plugin
