#pragma once

// The sd_notify(3) protocol without libsystemd: one datagram per state change on the
// AF_UNIX socket systemd names in $NOTIFY_SOCKET (Type=notify units). Linking libsystemd for
// this would pull its dependencies into the self-contained build for two syscalls.

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "util/unique_fd.h"

namespace udp::app {

class SystemdNotifier {
 public:
  // getenv(3)'s shape, so tests can hand in an environment.
  using EnvLookup = std::function<const char*(const char*)>;

  // nullptr when $NOTIFY_SOCKET is unset (not started by systemd, or by a unit that is not
  // Type=notify) or names nothing we can send to.
  static std::unique_ptr<SystemdNotifier> fromEnvironment();
  static std::unique_ptr<SystemdNotifier> fromEnvironment(const EnvLookup& env, pid_t self);

  // Sends `state` ("READY=1", "STATUS=...", "WATCHDOG=1", "RELOADING=1", "STOPPING=1", or
  // several separated by '\n') as one datagram. Never blocks: a full or absent receiver drops
  // the message and we return false; systemd tolerates lost messages better than a stuck
  // reactor (a missed WATCHDOG=1 costs a restart, a blocked loop costs every device update).
  bool notify(std::string_view state);

  // WATCHDOG_USEC when the watchdog is on for this process: WATCHDOG_PID, when set, must be
  // ours (a child that inherited the environment must not feed its parent's watchdog).
  std::optional<std::chrono::microseconds> watchdogInterval() const { return watchdog_; }

 private:
  SystemdNotifier(UniqueFd fd, sockaddr_un address, socklen_t length,
                  std::optional<std::chrono::microseconds> watchdog)
      : fd_(std::move(fd)), address_(address), length_(length), watchdog_(watchdog) {}

  UniqueFd fd_;
  sockaddr_un address_;
  socklen_t length_;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace udp::app
