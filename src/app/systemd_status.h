#pragma once

// What systemd hears from a Type=notify service: READY=1 once every resource registered,
// STATUS= as that changes, RELOADING=1 / STOPPING=1, and WATCHDOG=1 from a timer only when
// systemd asked for it (no timer otherwise: DESIGN.md §1, no wake-ups while idle).

#include <memory>
#include <string>
#include <string_view>

#include "app/systemd_notifier.h"
#include "reactor/reactor.h"

namespace udp::app {

class SystemdStatus {
 public:
  explicit SystemdStatus(reactor::Reactor& reactor, std::unique_ptr<SystemdNotifier> notifier =
                                                        SystemdNotifier::fromEnvironment());
  SystemdStatus(const SystemdStatus&) = delete;
  SystemdStatus& operator=(const SystemdStatus&) = delete;

  void start();  // arms the watchdog timer when systemd wants one
  void reloading() { send("RELOADING=1"); }
  void reloaded() { send("READY=1"); }
  void stopping();
  // Sends STATUS= when it changed, and READY=1 the first time every resource is registered.
  void update(size_t registered, size_t resources, size_t devices);

 private:
  void send(std::string_view state) {
    if (notifier_) notifier_->notify(state);
  }
  void onWatchdogTimer(int res, uint32_t flags) noexcept;

  reactor::Reactor& reactor_;
  std::unique_ptr<SystemdNotifier> notifier_;
  bool toldReady_ = false;
  bool stopping_ = false;
  std::string toldStatus_;
  reactor::Op watchdogOp_{reactor::bindOp<&SystemdStatus::onWatchdogTimer>(this)};
};

}  // namespace udp::app
