#include "udev/udev_device_source.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <set>
#include <string_view>

#include "udev/udev_record.h"
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

UdevDeviceSource::UdevDeviceSource(const config::Config& config, UdevSourceOptions options)
    : options_(std::move(options)), choice_(config.udevSource), tracker_(config.resources) {}

Result<void> UdevDeviceSource::start(reactor::Reactor& reactor, plugin::DeviceSink& sink) {
  if (monitor_) return makeError(-EALREADY, "udev source already started");
  // Decided now rather than at construction: udevd may have come or gone since.
  sourceName_ = resolveSource(choice_, options_.controlSocket);
  udev_.reset(udev_new());
  if (!udev_) return makeError(-ENOMEM, "udev_new failed");
  monitor_.reset(udev_monitor_new_from_netlink(udev_.get(), sourceName_));
  if (!monitor_) {
    int err = errno != 0 ? -errno : -EIO;
    return makeError(err, std::string("cannot create the udev monitor (") + sourceName_ +
                              "): " + std::strerror(-err));
  }
  if (auto subsystems = ruleSubsystems(tracker_.resources())) {
    for (const std::string& subsystem : *subsystems) {
      // Only saves wake-ups; matching filters again.
      udev_monitor_filter_add_match_subsystem_devtype(monitor_.get(), subsystem.c_str(), nullptr);
    }
  }
  if (options_.receiveBufferSize > 0) {
    // Failing to get the full size (unprivileged, above rmem_max) is survivable: an overflow
    // costs a rescan, not correctness.
    (void)udev_monitor_set_receive_buffer_size(monitor_.get(), options_.receiveBufferSize);
  }
  // Before enumerating: a device that appears during the enumeration is then either in it or in
  // an event, and the tracker drops what is in both.
  int rc = udev_monitor_enable_receiving(monitor_.get());
  if (rc < 0) {
    monitor_.reset();
    return makeError(rc, std::string("cannot enable the udev monitor: ") + std::strerror(-rc));
  }

  reactor_ = &reactor;
  sink_ = &sink;
  if (Result<void> scanned = scan(false); !scanned) {
    monitor_.reset();
    return scanned;
  }
  reactor_->poll(readableOp_, udev_monitor_get_fd(monitor_.get()), POLLIN);
  return {};
}

void UdevDeviceSource::stop() {
  stopped_ = true;
  if (reactor_ != nullptr && readableOp_.pending()) reactor_->cancel(readableOp_);
}

void UdevDeviceSource::fail(int error) {
  failure_ = error;
  stopped_ = true;
}

Result<void> UdevDeviceSource::scan(bool reconcile) {
  Result<std::vector<std::string>> syspaths = enumerateSyspaths(*udev_, tracker_.resources());
  if (!syspaths) return syspaths.error();
  if (reconcile) {
    std::set<std::string, std::less<>> present(syspaths->begin(), syspaths->end());
    tracker_.removeAbsent(present, *sink_);
  }
  PropertySource properties = std::string_view(sourceName_) == "kernel"
                                  ? PropertySource::kUeventFile
                                  : PropertySource::kLibudev;
  for (const std::string& syspath : *syspaths) {
    UdevDevicePtr device(udev_device_new_from_syspath(udev_.get(), syspath.c_str()));
    // Gone since the enumeration listed it: its remove event is queued on the monitor.
    if (device) tracker_.update(recordFromUdev(device.get(), properties), *sink_);
  }
  return {};
}

void UdevDeviceSource::onReadable(int res, uint32_t /*flags*/) noexcept {
  if (stopped_) return;
  if (res < 0) {
    fail(res);
    return;
  }
  // POLLERR is how the socket reports an overflow; the receive below returns it as ENOBUFS.
  bool lost = false;
  for (int n = 0; n < options_.maxEventsPerWakeup; ++n) {
    errno = 0;
    UdevDevicePtr device(udev_monitor_receive_device(monitor_.get()));
    if (device) {
      // Everything read after an overflow is older than the rescan below, which supersedes it.
      if (!lost) handleEvent(device.get());
      if (stopped_) return;  // the sink stopped us from inside the report
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
  if (lost) {
    ++rescans_;
    sink_->onRescan();
    if (Result<void> scanned = scan(true); !scanned) {
      fail(scanned.error().code);
      return;
    }
    if (stopped_) return;
  }
  reactor_->poll(readableOp_, udev_monitor_get_fd(monitor_.get()), POLLIN);
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
