#pragma once

// Capped exponential backoff for a component that retries until it works again (DESIGN.md
// §5.9): the first retry soon, each later one twice as late, never later than the cap.

#include <algorithm>
#include <chrono>

namespace udp {

struct BackoffTiming {
  std::chrono::milliseconds first{100};
  std::chrono::milliseconds max{30000};
};

class Backoff {
 public:
  explicit Backoff(BackoffTiming timing = {}) : timing_(timing), next_(timing.first) {}

  // The delay before the next retry; each call doubles the following one, up to the cap.
  std::chrono::milliseconds next() {
    std::chrono::milliseconds delay = next_;
    next_ = std::min(next_ * 2, timing_.max);
    return delay;
  }
  // The delay next() returns next, without taking it.
  std::chrono::milliseconds peek() const { return next_; }
  // It worked: the next failure starts from the first delay again.
  void reset() { next_ = timing_.first; }
  // The next delay is `delay`, doubling from there.
  void restartFrom(std::chrono::milliseconds delay) { next_ = delay; }

 private:
  BackoffTiming timing_;
  std::chrono::milliseconds next_;
};

}  // namespace udp
