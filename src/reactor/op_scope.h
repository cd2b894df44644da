#pragma once

// Who has what in flight (DESIGN.md §5.8). Every owner of ops holds one OpScope; its ops count
// in it and in every scope above it, so a resource's runtime knows when its server, acceptors,
// connections and registration have all completed, without a hand-written idle() that can forget
// a member. A scope destroyed with ops still in flight is a lifetime bug: the kernel would
// complete into freed memory. It stops the process at once, naming the count, rather than leave
// a use-after-free to luck.

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace udp::reactor {

class OpScope {
 public:
  explicit OpScope(OpScope* parent = nullptr) : parent_(parent) {}
  ~OpScope() {
    if (inFlight_ != 0) {
      fprintf(stderr, "fatal: an owner was destroyed with %zu operation(s) still in flight\n",
              inFlight_);
      abort();
    }
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  // Ops in flight here and in every scope below.
  size_t inFlight() const { return inFlight_; }
  bool idle() const { return inFlight_ == 0; }

 private:
  friend class PendingOps;
  void started() {
    for (OpScope* s = this; s != nullptr; s = s->parent_) ++s->inFlight_;
  }
  void finished() {
    for (OpScope* s = this; s != nullptr; s = s->parent_) --s->inFlight_;
  }

  OpScope* parent_;
  size_t inFlight_ = 0;
};

}  // namespace udp::reactor
