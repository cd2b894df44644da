#pragma once

// SIGTERM, SIGINT and SIGHUP as completions on the reactor, through a signalfd.

#include <sys/signalfd.h>

#include <functional>

#include "reactor/reactor.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::app {

// Blocks SIGTERM, SIGINT and SIGHUP for the process: from then on they wait, queued, for a
// Signals to read them instead of killing the process with their default action. `run` calls
// it first thing, so that a reload or stop that arrives during start-up is not fatal.
Result<void> blockDaemonSignals();

class Signals {
 public:
  using Handler = std::function<void(int signo)>;
  Signals(reactor::Reactor& reactor, Handler handler);
  // Blocks the signals for the process (so they queue on the fd) and starts reading.
  Result<void> start();
  void stop();

 private:
  void onRead(int res, uint32_t flags) noexcept;
  void arm();

  reactor::Reactor& reactor_;
  Handler handler_;
  UniqueFd fd_;
  bool stopped_ = false;
  signalfd_siginfo info_{};  // owned by the kernel while readOp_ is pending
  reactor::Op readOp_{reactor::bindOp<&Signals::onRead>(this)};
};

}  // namespace udp::app
