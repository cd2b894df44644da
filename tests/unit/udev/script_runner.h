#pragma once

// Drives a reactor through a scripted hotplug scenario for the udev tests. A Reactor runs once
// (stop() is final), so a whole scenario is one run: each step acts (plugs, unplugs, sends a
// uevent) once the previous step's condition holds. A 10 ms tick keeps turns coming while the
// test waits for something that has no completion of its own.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "reactor/op.h"
#include "reactor/reactor.h"

namespace udp::udev::testing {

class ScriptRunner {
 public:
  struct Step {
    std::string name;
    std::function<void()> act;   // may be empty
    std::function<bool()> done;  // checked after every reactor turn
  };

  // Registers a turn-end hook: the runner must outlive the reactor's run.
  explicit ScriptRunner(reactor::Reactor& reactor) : reactor_(reactor) {
    reactor_.addTurnEndHook([this] { check(); });
  }

  // Runs the steps in order; returns the name of the step that was still waiting when `limit`
  // passed, or "" when all of them completed.
  std::string run(std::vector<Step> steps, std::chrono::milliseconds limit) {
    steps_ = std::move(steps);
    next_ = 0;
    deadline_ = std::chrono::steady_clock::now() + limit;
    if (!steps_.empty() && steps_[0].act) steps_[0].act();
    reactor_.timeout(tick_, std::chrono::milliseconds(10));
    reactor_.run();
    // The tick (and whatever the steps left in flight) completes before anything is freed.
    reactor_.drain(std::chrono::seconds(2));
    return next_ < steps_.size() ? steps_[next_].name : std::string();
  }

 private:
  void onTick(int, uint32_t) noexcept {
    if (!reactor_.stopping()) reactor_.timeout(tick_, std::chrono::milliseconds(10));
  }

  void check() {
    while (next_ < steps_.size() && steps_[next_].done()) {
      if (++next_ < steps_.size() && steps_[next_].act) steps_[next_].act();
    }
    if (next_ == steps_.size() || std::chrono::steady_clock::now() > deadline_) reactor_.stop();
  }

  reactor::Reactor& reactor_;
  std::vector<Step> steps_;
  size_t next_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  reactor::Op tick_{reactor::bindOp<&ScriptRunner::onTick>(this)};
};

}  // namespace udp::udev::testing
