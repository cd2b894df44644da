#pragma once

// The production DeviceSource (DESIGN.md §4): enumerates at start, then follows the udev monitor
// on the reactor. The monitor is enabled before enumerating so nothing falls in between, and the
// tracker de-duplicates what both report. Lost events (ENOBUFS) trigger a full rescan.

#include <cstdint>
#include <string>

#include "config/config.h"
#include "plugin/device_source.h"
#include "reactor/op.h"
#include "reactor/reactor.h"
#include "udev/device_tracker.h"
#include "udev/udev_ptr.h"

namespace udp::udev {

// True when something accepts a connection on udevd's control socket. The file alone proves
// nothing: a dead udevd leaves it behind, and a container may see the host's.
bool udevdAnswers(const std::string& controlSocket);

inline constexpr const char* kUdevControlSocket = "/run/udev/control";

// The monitor to follow: "udev" (events after udevd processed them, with its database) when
// asked for or, with kAuto, when udevd answers; else "kernel" (raw uevents).
const char* resolveSource(config::UdevSource choice,
                          const std::string& controlSocket = kUdevControlSocket);

struct UdevSourceOptions {
  std::string controlSocket = kUdevControlSocket;  // where a live udevd answers
  // SO_RCVBUF of the monitor in bytes; <= 0 keeps the kernel default. Large, so a burst of
  // uevents does not overflow while the reactor is busy; tests set it tiny to force ENOBUFS.
  // Unprivileged, the kernel caps it at net.core.rmem_max, which rescans make up for.
  int receiveBufferSize = 128 * 1024 * 1024;
  // Messages read per readiness before yielding to the rest of the reactor.
  int maxEventsPerWakeup = 1024;
};

class UdevDeviceSource final : public plugin::DeviceSource {
 public:
  explicit UdevDeviceSource(const config::Config& config, UdevSourceOptions options = {});
  UdevDeviceSource(const UdevDeviceSource&) = delete;
  UdevDeviceSource& operator=(const UdevDeviceSource&) = delete;
  // Free only once idle() (or after the reactor is gone): the monitor's poll points at us.
  ~UdevDeviceSource() override = default;

  // Picks the event source, enables the monitor, reports every matching device to `sink`, then
  // watches the monitor on `reactor`. Both must outlive the source's activity.
  Result<void> start(reactor::Reactor& reactor, plugin::DeviceSink& sink) override;
  // Stops reporting; the pending poll completes as cancelled, after which the source is idle.
  void stop() override;
  bool idle() const override { return !readableOp_.pending(); }

  // resolveSource()'s choice: "udev" or "kernel"; "none" before start().
  const char* sourceName() const { return sourceName_; }
  std::string summary() const override {
    return std::string(sourceName_) == "udev" ? "udev events (udevd answers)"
                                              : "kernel uevents (no udevd answering)";
  }
  // Full rescans after lost events; for tests and metrics.
  uint64_t rescans() const { return rescans_; }
  // The error that stopped the source (a failed poll or rescan), 0 while it runs.
  int failure() const { return failure_; }
  const DeviceTracker& tracker() const { return tracker_; }

 private:
  void onReadable(int res, uint32_t flags) noexcept;
  void handleEvent(udev_device* device);
  Result<void> scan(bool reconcile);
  void fail(int error);

  UdevSourceOptions options_;
  config::UdevSource choice_;
  DeviceTracker tracker_;
  UdevPtr udev_;
  UdevMonitorPtr monitor_;
  reactor::Reactor* reactor_ = nullptr;
  plugin::DeviceSink* sink_ = nullptr;
  const char* sourceName_ = "none";
  uint64_t rescans_ = 0;
  int failure_ = 0;
  bool stopped_ = false;
  reactor::Op readableOp_{reactor::bindOp<&UdevDeviceSource::onReadable>(this)};
};

}  // namespace udp::udev
