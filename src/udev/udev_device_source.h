#pragma once

// The production DeviceSource (DESIGN.md §4): enumerates at start, then follows the udev monitor
// on the reactor. The monitor is enabled before enumerating so nothing falls in between, and the
// tracker de-duplicates what both report. Lost events (ENOBUFS) trigger a full rescan.
//
// Following udev events, the source also listens to raw kernel uevents, which come whether
// udevd runs or not: each batch is the moment to ask whether udevd still answers. When it stops
// (restart, upgrade, crash), the source falls back to kernel uevents with a full rescan instead
// of going deaf, and goes back to udev events once udevd answers again.
//
// A failed poll or rescan does not leave it deaf either: it logs once, tells the sink
// (onSourceDown: the metric and /readyz), and retries with capped backoff to open fresh monitors
// and rescan, reconciling what appeared or vanished meanwhile, then tells onSourceUp.

#include <chrono>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "plugin/device_source.h"
#include "reactor/op.h"
#include "reactor/reactor.h"
#include "udev/device_tracker.h"
#include "udev/udev_ptr.h"
#include "util/backoff.h"

namespace udp::udev {

// True when something accepts a connection on udevd's control socket. The file alone proves
// nothing: a dead udevd leaves it behind, and a container may see the host's.
bool udevdAnswers(const std::string& controlSocket);

inline constexpr const char* kUdevControlSocket = "/run/udev/control";

// The monitor to follow: "udev" (events after udevd processed them, with its database) when
// asked for or, with kAuto, when udevd answers; else "kernel" (raw uevents).
const char* resolveSource(config::UdevSource choice,
                          const std::string& controlSocket = kUdevControlSocket);

enum class SourceSwitch { kStay, kToKernel, kToUdev };

// Whether a running source changes monitors, asked after kernel uevents with whether udevd
// answers now. udevSource: kernel never moves; auto and udev follow udevd both ways (a forced
// udev whose udevd went away must not leave the plugin deaf either).
SourceSwitch decideSwitch(config::UdevSource choice, bool followingUdev, bool udevdAnswersNow);

struct UdevSourceOptions {
  std::string controlSocket = kUdevControlSocket;  // where a live udevd answers
  // SO_RCVBUF of each monitor in bytes; <= 0 keeps the kernel default. Large, so a burst of
  // uevents does not overflow while the reactor is busy; tests set it tiny to force ENOBUFS.
  // Unprivileged, the kernel caps it at net.core.rmem_max, which rescans make up for.
  int receiveBufferSize = 128 * 1024 * 1024;
  // Messages read per readiness before yielding to the rest of the reactor.
  int maxEventsPerWakeup = 1024;
  // How long udevd may take to pass on a kernel uevent before we ask again whether it still
  // answers: it may die after answering, with the event still in its queue.
  std::chrono::milliseconds udevdGrace{2000};
  // After a failure: how soon, and at most how late, to try again.
  BackoffTiming retry;
};

class UdevDeviceSource final : public plugin::DeviceSource {
 public:
  explicit UdevDeviceSource(const config::Config& config, UdevSourceOptions options = {});
  UdevDeviceSource(const UdevDeviceSource&) = delete;
  UdevDeviceSource& operator=(const UdevDeviceSource&) = delete;
  // Free only once idle() (or after the reactor is gone): the monitors' polls point at us.
  ~UdevDeviceSource() override = default;

  // Picks the event source, enables the monitors, reports every matching device to `sink`, then
  // watches the monitors on `reactor`. Both must outlive the source's activity.
  Result<void> start(reactor::Reactor& reactor, plugin::DeviceSink& sink) override;
  // Stops reporting; the pending ops complete as cancelled, after which the source is idle.
  void stop() override;
  bool idle() const override { return scope_.idle(); }

  // The monitor followed now: "udev" or "kernel"; "none" before start().
  const char* sourceName() const {
    return followingUdev() ? "udev" : kernelMonitor_ ? "kernel" : "none";
  }
  std::string eventSource() const override { return sourceName(); }
  std::string summary() const override {
    return followingUdev() ? "udev events (udevd answers)" : "kernel uevents (no udevd answering)";
  }
  // Full rescans after lost events or a change of monitor; for tests and metrics.
  uint64_t rescans() const { return rescans_; }
  // The error of the current failure (a failed poll or rescan), 0 while it runs.
  int failure() const { return failure_; }
  bool failing() const { return failing_; }
  // What a failed poll does, for tests: the reactor offers no way to make a poll on a netlink
  // socket fail. Ignored once stopped or while failing.
  void simulateFailure(Error error);
  const DeviceTracker& tracker() const { return tracker_; }

 private:
  bool followingUdev() const { return udevMonitor_ != nullptr; }
  // Stopped, or failed and waiting to retry: completions change nothing.
  bool halted() const { return stopped_ || failing_; }
  Result<UdevMonitorPtr> openMonitor(const char* group);
  // Both monitors as the choice and udevd now call for, enabled.
  Result<void> openMonitors();
  void pollMonitors();
  void onRetry(int res, uint32_t flags) noexcept;
  void onUdevReadable(int res, uint32_t flags) noexcept;
  void onKernelReadable(int res, uint32_t flags) noexcept;
  void onGraceOver(int res, uint32_t flags) noexcept;
  // Reads up to maxEventsPerWakeup messages, handling them when `handle`; false once the
  // monitor lost some (ENOBUFS).
  bool drain(udev_monitor* monitor, bool handle, uint64_t& lastSeqnum);
  void handleEvent(udev_device* device);
  // Asks udevd and changes monitors when decideSwitch() says so.
  void checkUdevd();
  // Waits udevdGrace for udevd to pass on the newest kernel uevents, then asks again.
  void armGrace();
  void switchToKernel();
  void switchToUdev();
  bool rescan();
  Result<void> scan(bool reconcile);
  void fail(Error error);

  UdevSourceOptions options_;
  config::UdevSource choice_;
  DeviceTracker tracker_;
  UdevPtr udev_;
  // Open while following udev events.
  UdevMonitorPtr udevMonitor_;
  // The udev monitor left behind, until the poll on it completes.
  UdevMonitorPtr retiredMonitor_;
  // Kernel uevents: the events themselves when following them, else only a sign that udevd may
  // be gone. Null with udevSource: udev when udevd did not answer at start: the choice was made
  // knowing that (a control socket out of sight), so it stays.
  UdevMonitorPtr kernelMonitor_;
  reactor::Reactor* reactor_ = nullptr;
  plugin::DeviceSink* sink_ = nullptr;
  // Kernel sequence numbers: the newest uevent seen, the newest udevd passed on, and the newest
  // the grace wait was armed for. udevd is behind while the first is ahead of the second.
  uint64_t kernelSeqnum_ = 0;
  uint64_t udevSeqnum_ = 0;
  uint64_t graceSeqnum_ = 0;
  uint64_t rescans_ = 0;
  int failure_ = 0;
  bool stopped_ = false;
  bool failing_ = false;
  Backoff backoff_;
  reactor::OpScope scope_;
  reactor::Op udevOp_{reactor::bindOp<&UdevDeviceSource::onUdevReadable>(this, scope_)};
  reactor::Op kernelOp_{reactor::bindOp<&UdevDeviceSource::onKernelReadable>(this, scope_)};
  reactor::Op graceOp_{reactor::bindOp<&UdevDeviceSource::onGraceOver>(this, scope_)};
  reactor::Op retryOp_{reactor::bindOp<&UdevDeviceSource::onRetry>(this, scope_)};
};

}  // namespace udp::udev
