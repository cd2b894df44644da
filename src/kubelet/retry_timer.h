#pragma once

// The retry of a registration (Register, or a fresh plugin-watcher socket) until it works: a
// capped doubling delay on a timer op that its owner embeds and binds (the owner's completion
// asks fired() whether to act). One retry is owed at a time: wanting another while one is owed
// changes nothing, and cancel() ends it. The subtle case it owns: a timer cancelled and wanted
// again before the cancellation completed cannot be armed twice on one op, so the cancelled
// completion arms it again.

#include <chrono>

#include "reactor/reactor.h"
#include "util/backoff.h"

namespace udp::kubelet {

class RetryTimer {
 public:
  // `op` is the owner's, bound to the owner's completion, which calls fired().
  RetryTimer(reactor::Reactor& reactor, reactor::Op& op, std::chrono::milliseconds first,
             std::chrono::milliseconds max);
  RetryTimer(const RetryTimer&) = delete;
  RetryTimer& operator=(const RetryTimer&) = delete;

  // A retry is owed, after nextDelay(); each timer armed doubles the delay after it, up to max.
  void schedule();
  // No retry is owed any more.
  void cancel();
  // From the op's completion with its result: true when the owed retry is due now (the owner
  // acts); false when none is owed or the timer was only re-armed.
  bool fired(int res);

  // The delay of the next timer armed (for the log).
  std::chrono::milliseconds nextDelay() const { return backoff_.peek(); }
  // It worked: the next failure waits the first delay again.
  void reset() { backoff_.reset(); }
  // The next timer waits `delay`, doubling from there.
  void startFrom(std::chrono::milliseconds delay) { backoff_.restartFrom(delay); }

 private:
  void arm();

  reactor::Reactor& reactor_;
  reactor::Op& op_;
  Backoff backoff_;
  bool wanted_ = false;
};

}  // namespace udp::kubelet
