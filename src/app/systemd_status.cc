#include "app/systemd_status.h"

#include <errno.h>

namespace udp::app {

SystemdStatus::SystemdStatus(reactor::Reactor& reactor, std::unique_ptr<SystemdNotifier> notifier)
    : reactor_(reactor), notifier_(std::move(notifier)) {}

void SystemdStatus::start() {
  if (notifier_ && notifier_->watchdogInterval()) {
    reactor_.timeout(watchdogOp_, *notifier_->watchdogInterval() / 2);
  }
}

void SystemdStatus::stopping() {
  stopping_ = true;
  send("STOPPING=1");
  reactor_.cancel(watchdogOp_);
}

void SystemdStatus::update(size_t registered, size_t resources, size_t devices) {
  if (!notifier_ || stopping_) return;
  std::string status = std::to_string(registered) + "/" + std::to_string(resources) +
                       " resources registered, " + std::to_string(devices) + " devices";
  if (status != toldStatus_) {
    toldStatus_ = status;
    send("STATUS=" + status);
  }
  if (!toldReady_ && registered == resources) {
    toldReady_ = true;
    send("READY=1");
  }
}

void SystemdStatus::onWatchdogTimer(int res, uint32_t) noexcept {
  if (res == -ECANCELED || stopping_ || !notifier_) return;
  send("WATCHDOG=1");
  reactor_.timeout(watchdogOp_, *notifier_->watchdogInterval() / 2);
}

}  // namespace udp::app
