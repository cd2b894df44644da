#include "app/signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

namespace udp::app {

namespace {

sigset_t daemonSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

Result<void> blockDaemonSignals() {
  sigset_t set = daemonSignals();
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
    return makeError(-errno, std::string("sigprocmask: ") + strerror(errno));
  }
  return {};
}

Signals::Signals(reactor::Reactor& reactor, Handler handler)
    : reactor_(reactor), handler_(std::move(handler)) {}

Result<void> Signals::start() {
  if (auto r = blockDaemonSignals(); !r) return r;
  sigset_t set = daemonSignals();
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return makeError(-errno, std::string("signalfd: ") + strerror(errno));
  fd_.reset(fd);
  // A peer that closes its socket must not kill us mid-write; sends also pass MSG_NOSIGNAL.
  signal(SIGPIPE, SIG_IGN);
  arm();
  return {};
}

void Signals::stop() {
  stopped_ = true;
  reactor_.cancel(readOp_);
}

void Signals::arm() {
  if (!stopped_) reactor_.read(readOp_, fd_.get(), &info_, sizeof info_);
}

void Signals::onRead(int res, uint32_t) noexcept {
  if (stopped_) return;
  if (res == static_cast<int>(sizeof info_)) handler_(static_cast<int>(info_.ssi_signo));
  arm();
}

}  // namespace udp::app
