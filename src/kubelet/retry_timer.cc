#include "kubelet/retry_timer.h"

#include <cerrno>

namespace udp::kubelet {

RetryTimer::RetryTimer(reactor::Reactor& reactor, reactor::Op& op, std::chrono::milliseconds first,
                       std::chrono::milliseconds max)
    : reactor_(reactor), op_(op), backoff_({first, max}) {}

void RetryTimer::schedule() {
  wanted_ = true;
  // A timer still in flight (due, or cancelled and not yet completed) acts from its completion.
  if (!op_.pending()) arm();
}

void RetryTimer::cancel() {
  wanted_ = false;
  reactor_.cancel(op_);
}

bool RetryTimer::fired(int res) {
  if (!wanted_) return false;
  if (res == -ECANCELED) {
    // Cancelled, then a new failure wanted a retry before the cancellation completed.
    arm();
    return false;
  }
  wanted_ = false;
  return true;
}

void RetryTimer::arm() {
  reactor_.timeout(op_, backoff_.next());
}

}  // namespace udp::kubelet
