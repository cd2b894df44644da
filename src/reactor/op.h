#pragma once

#include <linux/time_types.h>

#include <cstdint>

namespace udp::reactor {

// One in-flight io_uring submission (DESIGN.md §4). An Op is embedded in its owner and never
// copied or moved: its address is the SQE's user_data, so it must outlive the completion.
// Completion runs `fn` with the CQE's result (a byte count, an fd, or a negative errno) and flags.
class Op {
 public:
  using Fn = void (*)(void* owner, int res, uint32_t flags) noexcept;

  Op(void* owner, Fn fn) : owner_(owner), fn_(fn) {}
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  bool pending() const { return pending_; }

 private:
  friend class Reactor;

  void complete(int res, uint32_t flags) noexcept {
    pending_ = false;
    fn_(owner_, res, flags);
  }

  void* owner_;
  Fn fn_;
  bool pending_ = false;
  bool isTimeout_ = false;       // timeouts are cancelled with TIMEOUT_REMOVE
  __kernel_timespec timeout_{};  // read by the kernel when a timeout op is submitted
};

// Binds an Op to a member function: Op op_{bindOp<&Conn::onRecv>(this)};
template <auto Method, typename Owner>
Op bindOp(Owner* owner) {
  return Op(owner, [](void* o, int res, uint32_t flags) noexcept {
    (static_cast<Owner*>(o)->*Method)(res, flags);
  });
}

}  // namespace udp::reactor
