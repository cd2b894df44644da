#include "udev/udev_device_source.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>

#include "udev/udev_record.h"
#include "util/log.h"
#include "util/unique_fd.h"

namespace udp::udev {

bool udevdAnswers(const std::string& controlSocket) {
  struct stat st {};
  if (stat(controlSocket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (controlSocket.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, controlSocket.c_str(), controlSocket.size() + 1);
  // udevd's control socket is SOCK_SEQPACKET. Non-blocking: a udevd too busy to accept (EAGAIN)
  // still answers; a stale file refuses (ECONNREFUSED).
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return false;
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
  return errno == EAGAIN || errno == EINPROGRESS;
}

const char* resolveSource(config::UdevSource choice, const std::string& controlSocket) {
  switch (choice) {
    case config::UdevSource::kUdev:
      return "udev";
    case config::UdevSource::kKernel:
      return "kernel";
    case config::UdevSource::kAuto:
      break;
  }
  return udevdAnswers(controlSocket) ? "udev" : "kernel";
}

SourceSwitch decideSwitch(config::UdevSource choice, bool followingUdev, bool udevdAnswersNow) {
  if (choice == config::UdevSource::kKernel) return SourceSwitch::kStay;
  if (followingUdev && !udevdAnswersNow) return SourceSwitch::kToKernel;
  if (!followingUdev && udevdAnswersNow) return SourceSwitch::kToUdev;
  return SourceSwitch::kStay;
}

UdevDeviceSource::UdevDeviceSource(const config::Config& config, UdevSourceOptions options)
    : options_(std::move(options)),
      choice_(config.udevSource),
      tracker_(config.resources),
      backoff_(options_.retry) {}

Result<UdevMonitorPtr> UdevDeviceSource::openMonitor(const char* group) {
  UdevMonitorPtr monitor(udev_monitor_new_from_netlink(udev_.get(), group));
  if (!monitor) {
    int err = errno != 0 ? -errno : -EIO;
    return makeError(
        err, std::string("cannot create the udev monitor (") + group + "): " + std::strerror(-err));
  }
  if (auto subsystems = ruleSubsystems(tracker_.resources())) {
    for (const std::string& subsystem : *subsystems) {
      // Only saves wake-ups; matching filters again.
      udev_monitor_filter_add_match_subsystem_devtype(monitor.get(), subsystem.c_str(), nullptr);
    }
  }
  if (options_.receiveBufferSize > 0) {
    // Failing to get the full size (unprivileged, above rmem_max) is survivable: an overflow
    // costs a rescan, not correctness.
    (void)udev_monitor_set_receive_buffer_size(monitor.get(), options_.receiveBufferSize);
  }
  int rc = udev_monitor_enable_receiving(monitor.get());
  if (rc < 0) {
    return makeError(
        rc, std::string("cannot enable the udev monitor (") + group + "): " + std::strerror(-rc));
  }
  return monitor;
}

Result<void> UdevDeviceSource::openMonitors() {
  // Decided now rather than at construction: udevd may have come or gone since.
  bool answers = choice_ != config::UdevSource::kKernel && udevdAnswers(options_.controlSocket);
  bool udev =
      choice_ == config::UdevSource::kUdev || (choice_ == config::UdevSource::kAuto && answers);
  // Both before enumerating: a device that appears during the enumeration is then either in it
  // or in an event, and the tracker drops what is in both.
  if (choice_ != config::UdevSource::kUdev || answers) {
    Result<UdevMonitorPtr> kernel = openMonitor("kernel");
    if (!kernel) return kernel.error();
    kernelMonitor_ = std::move(*kernel);
  }
  if (udev) {
    Result<UdevMonitorPtr> monitor = openMonitor("udev");
    if (!monitor) {
      kernelMonitor_.reset();
      return monitor.error();
    }
    udevMonitor_ = std::move(*monitor);
  }
  return {};
}

void UdevDeviceSource::pollMonitors() {
  if (udevMonitor_) reactor_->poll(udevOp_, udev_monitor_get_fd(udevMonitor_.get()), POLLIN);
  if (kernelMonitor_) {
    reactor_->poll(kernelOp_, udev_monitor_get_fd(kernelMonitor_.get()), POLLIN);
  }
}

Result<void> UdevDeviceSource::start(reactor::Reactor& reactor, plugin::DeviceSink& sink) {
  if (udevMonitor_ || kernelMonitor_) return makeError(-EALREADY, "udev source already started");
  udev_.reset(udev_new());
  if (!udev_) return makeError(-ENOMEM, "udev_new failed");
  if (choice_ == config::UdevSource::kUdev && !udevdAnswers(options_.controlSocket)) {
    logWarning("udevSource: udev, but udevd does not answer; following udev events anyway",
               {{"source", "udev"}, {"control", options_.controlSocket}});
  }
  if (Result<void> opened = openMonitors(); !opened) return opened;

  reactor_ = &reactor;
  sink_ = &sink;
  if (Result<void> scanned = scan(false); !scanned) {
    udevMonitor_.reset();
    kernelMonitor_.reset();
    return scanned;
  }
  pollMonitors();
  sink_->onSourceUp();
  return {};
}

void UdevDeviceSource::stop() {
  stopped_ = true;
  if (reactor_ == nullptr) return;
  for (reactor::Op* op : {&udevOp_, &kernelOp_, &graceOp_, &retryOp_}) {
    if (op->pending()) reactor_->cancel(*op);
  }
}

void UdevDeviceSource::simulateFailure(Error error) {
  if (halted() || reactor_ == nullptr) return;
  fail(std::move(error));
}

void UdevDeviceSource::fail(Error error) {
  failure_ = error.code;
  if (!failing_) {
    failing_ = true;
    logError("the device source failed; retrying with backoff: " + error.message,
             {{"source", sourceName()}});
    sink_->onSourceDown(error.message);
  } else {
    logDebug("the device source still fails: " + error.message, {{"source", sourceName()}});
  }
  // The monitors stay open until the retry: a cancelled poll names its fd until it completes.
  for (reactor::Op* op : {&udevOp_, &kernelOp_, &graceOp_}) {
    if (op->pending()) reactor_->cancel(*op);
  }
  if (!retryOp_.pending()) reactor_->timeout(retryOp_, backoff_.next());
}

void UdevDeviceSource::onRetry(int res, uint32_t /*flags*/) noexcept {
  if (stopped_ || res == -ECANCELED || !failing_) return;
  if (udevOp_.pending() || kernelOp_.pending() || graceOp_.pending()) {
    // The cancelled polls have not completed yet; they will within a turn or two.
    reactor_->timeout(retryOp_, options_.retry.first);
    return;
  }
  // Fresh monitors, opened before the rescan for the same reason as at start.
  retiredMonitor_.reset();
  udevMonitor_.reset();
  kernelMonitor_.reset();
  if (Result<void> opened = openMonitors(); !opened) {
    fail(opened.error());
    return;
  }
  ++rescans_;
  sink_->onRescan();
  // Reconciled: what appeared or vanished while deaf is reported now.
  if (Result<void> scanned = scan(true); !scanned) {
    fail(scanned.error());
    return;
  }
  if (stopped_) return;  // the sink stopped us from inside the report
  udevSeqnum_ = std::max(udevSeqnum_, kernelSeqnum_);
  failing_ = false;
  failure_ = 0;
  backoff_.reset();
  logInfo("the device source works again; rescanned", {{"source", sourceName()}});
  sink_->onSourceUp();
  pollMonitors();
}

Result<void> UdevDeviceSource::scan(bool reconcile) {
  Result<std::vector<std::string>> syspaths = enumerateSyspaths(*udev_, tracker_.resources());
  if (!syspaths) return syspaths.error();
  if (reconcile) {
    std::set<std::string, std::less<>> present(syspaths->begin(), syspaths->end());
    tracker_.removeAbsent(present, *sink_);
  }
  PropertySource properties =
      followingUdev() ? PropertySource::kLibudev : PropertySource::kUeventFile;
  for (const std::string& syspath : *syspaths) {
    UdevDevicePtr device(udev_device_new_from_syspath(udev_.get(), syspath.c_str()));
    // Gone since the enumeration listed it: its remove event is queued on the monitor.
    if (device) tracker_.update(recordFromUdev(device.get(), properties), *sink_);
  }
  return {};
}

bool UdevDeviceSource::rescan() {
  ++rescans_;
  sink_->onRescan();
  if (Result<void> scanned = scan(true); !scanned) {
    fail(scanned.error());
    return false;
  }
  // The rescan has every device the kernel told of so far: udevd owes us nothing older.
  udevSeqnum_ = std::max(udevSeqnum_, kernelSeqnum_);
  return !halted();
}

bool UdevDeviceSource::drain(udev_monitor* monitor, bool handle, uint64_t& lastSeqnum) {
  // POLLERR is how the socket reports an overflow; the receive below returns it as ENOBUFS.
  bool lost = false;
  for (int n = 0; n < options_.maxEventsPerWakeup; ++n) {
    errno = 0;
    UdevDevicePtr device(udev_monitor_receive_device(monitor));
    if (device) {
      lastSeqnum = std::max<uint64_t>(lastSeqnum, udev_device_get_seqnum(device.get()));
      // Everything read after an overflow is older than the rescan that follows, which
      // supersedes it.
      if (handle && !lost) handleEvent(device.get());
      if (halted()) return lost;  // the sink stopped us from inside the report
      continue;
    }
    if (errno == ENOBUFS) {
      lost = true;
      continue;
    }
    // EAGAIN: drained, or the last message was filtered out; the re-armed poll fires again if
    // more are queued. Anything else was one bad message, already consumed.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == 0) break;
  }
  return lost;
}

void UdevDeviceSource::onUdevReadable(int res, uint32_t /*flags*/) noexcept {
  retiredMonitor_.reset();  // polled no more
  if (halted()) return;
  if (res < 0 && res != -ECANCELED) {
    fail({res, std::string("poll on the udev monitor: ") + std::strerror(-res)});
    return;
  }
  // Cancelled, or completed before the cancel came: we left udev events. A monitor opened since
  // (we came back meanwhile) could not be polled while this was pending, so it is polled now.
  if (!udevMonitor_) return;
  if (res >= 0) {
    bool lost = drain(udevMonitor_.get(), true, udevSeqnum_);
    if (halted()) return;
    if (lost && !rescan()) return;
  }
  reactor_->poll(udevOp_, udev_monitor_get_fd(udevMonitor_.get()), POLLIN);
}

void UdevDeviceSource::onKernelReadable(int res, uint32_t /*flags*/) noexcept {
  if (halted()) return;
  if (res < 0) {
    fail({res, std::string("poll on the kernel monitor: ") + std::strerror(-res)});
    return;
  }
  // Following udev, the kernel's uevents only say that udevd should have something to pass on
  // soon; the udev monitor reports the devices.
  bool handle = !followingUdev();
  bool lost = drain(kernelMonitor_.get(), handle, kernelSeqnum_);
  if (halted()) return;
  if (handle && lost && !rescan()) return;
  // Once per batch: a connect is cheap, and these come only when devices change.
  checkUdevd();
  if (halted()) return;
  armGrace();
  reactor_->poll(kernelOp_, udev_monitor_get_fd(kernelMonitor_.get()), POLLIN);
}

void UdevDeviceSource::armGrace() {
  // One wait per batch of kernel uevents, and none for a batch already waited on: udevd that
  // still answers after that long is alive, only slow, and is not asked again until new ones.
  if (!followingUdev() || graceOp_.pending()) return;
  if (kernelSeqnum_ <= udevSeqnum_ || kernelSeqnum_ <= graceSeqnum_) return;
  graceSeqnum_ = kernelSeqnum_;
  reactor_->timeout(graceOp_, options_.udevdGrace);
}

void UdevDeviceSource::onGraceOver(int res, uint32_t /*flags*/) noexcept {
  if (halted() || res == -ECANCELED || !followingUdev()) return;
  // udevd did not pass on the batch in time: it may have died after answering, with the events
  // in its queue, and no further kernel uevent may come to tell. Asked too for batches that
  // came while this one waited, so that those wait no longer than twice the grace.
  if (udevSeqnum_ < kernelSeqnum_) checkUdevd();
  if (halted()) return;
  armGrace();
}

void UdevDeviceSource::checkUdevd() {
  if (choice_ == config::UdevSource::kKernel) return;
  switch (decideSwitch(choice_, followingUdev(), udevdAnswers(options_.controlSocket))) {
    case SourceSwitch::kStay:
      return;
    case SourceSwitch::kToKernel:
      switchToKernel();
      return;
    case SourceSwitch::kToUdev:
      switchToUdev();
      return;
  }
}

void UdevDeviceSource::switchToKernel() {
  // Asked for by name, udev going away is a fault to look into; with auto it is one of the
  // cases auto is for.
  LogLevel level = choice_ == config::UdevSource::kUdev ? LogLevel::kError : LogLevel::kWarning;
  logLine(level, "udevd stopped answering; following kernel uevents",
          {{"source", "kernel"}, {"control", options_.controlSocket}});
  if (udevOp_.pending()) {
    reactor_->cancel(udevOp_);
    // Its poll may not even be submitted yet (that happens once per turn) and names the fd, so
    // the socket stays open until the poll completes. One already kept is the one polled: this
    // one, opened since, never was.
    if (!retiredMonitor_) retiredMonitor_ = std::move(udevMonitor_);
  }
  udevMonitor_.reset();
  // udevd may have died with events in its queue: only a rescan (without its database, now
  // stale) tells what they were.
  rescan();
}

void UdevDeviceSource::switchToUdev() {
  // Enabled before the rescan, for the same reason as at start.
  Result<UdevMonitorPtr> monitor = openMonitor("udev");
  if (!monitor) {
    logError("udevd answers again, but its events cannot be followed; staying with kernel uevents",
             {{"source", "kernel"}, {"error", monitor.error().message}});
    return;
  }
  udevMonitor_ = std::move(*monitor);
  logInfo("udevd answers again; following udev events", {{"source", "udev"}});
  // Read with udevd's properties now, as its events will be.
  if (!rescan()) return;
  if (!udevOp_.pending()) {
    reactor_->poll(udevOp_, udev_monitor_get_fd(udevMonitor_.get()), POLLIN);
  }
}

void UdevDeviceSource::handleEvent(udev_device* device) {
  const char* action = udev_device_get_action(device);
  std::string_view verb = action != nullptr ? action : "";
  sink_->onUevent(verb);
  const char* syspath = udev_device_get_syspath(device);
  if (syspath == nullptr) return;
  if (verb == "remove") {
    tracker_.remove(syspath, *sink_);
    return;
  }
  DeviceRecord record = recordFromUdev(device);
  if (verb == "move") {
    // DEVPATH_OLD is relative to the sysfs mount, like DEVPATH: swap it in for the new devpath.
    const std::string* oldDevpath = record.property("DEVPATH_OLD");
    if (oldDevpath != nullptr && record.syspath.size() >= record.devpath.size()) {
      std::string oldSyspath =
          record.syspath.substr(0, record.syspath.size() - record.devpath.size()) + *oldDevpath;
      tracker_.move(oldSyspath, record, *sink_);
      return;
    }
  }
  // add, change, bind, unbind, online, offline and anything newer: re-evaluate the device.
  tracker_.update(record, *sink_);
}

}  // namespace udp::udev
