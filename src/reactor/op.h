#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "reactor/op_scope.h"

namespace udp::reactor {

// One in-flight submission (DESIGN.md §4). An Op is embedded in its owner and never copied or
// moved: its address is the SQE's user_data (io_uring) or sits in the readiness lists (epoll), so
// it must outlive the completion. Completion runs `fn` with the result (a byte count, an fd, or a
// negative errno) and flags. While pending it counts in its owner's OpScope and sits in the
// backend's PendingOps (so that the reactor can cancel everything at exit); destroying it then
// is a lifetime bug that stops the process.
class Op {
 public:
  using Fn = void (*)(void* owner, int res, uint32_t flags) noexcept;

  Op(void* owner, Fn fn, OpScope* scope = nullptr) : owner_(owner), fn_(fn), scope_(scope) {}
  ~Op() {
    if (pending_) {
      fprintf(stderr, "fatal: an operation was destroyed while in flight\n");
      abort();
    }
  }
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  bool pending() const { return pending_; }

 private:
  friend class IoUringBackend;
  friend class EpollBackend;
  friend class PendingOps;

  // The backend removes the op from its PendingOps first, so that `fn` may submit it again.
  void dispatch(int res, uint32_t flags) noexcept { fn_(owner_, res, flags); }

  // What was asked for. io_uring copies it into the SQE; the epoll backend replays it whenever
  // the fd becomes ready, so it keeps it here.
  enum class Kind : uint8_t { kAccept, kConnect, kRecv, kSend, kRead, kWrite, kPoll, kTimeout };
  // epoll: where the op is between submission and completion.
  enum class Stage : uint8_t { kSubmitted, kWaiting, kTimer, kCompleting };
  struct Request {
    Kind kind = Kind::kPoll;
    Stage stage = Stage::kCompleting;
    bool connecting = false;  // epoll: connect() said EINPROGRESS; now waiting for POLLOUT
    int fd = -1;
    void* buffer = nullptr;
    size_t length = 0;
    uint64_t offset = 0;  // write: file offset; poll: the events; connect: address length
    const sockaddr* address = nullptr;
    Op* nextWaiter = nullptr;  // epoll: the next op waiting on the same fd
  };

  void* owner_;
  Fn fn_;
  OpScope* scope_;
  bool pending_ = false;
  Op* prevPending_ = nullptr;  // PendingOps' links
  Op* nextPending_ = nullptr;
  Request request_;
  __kernel_timespec timeout_{};  // io_uring reads it when the timeout is submitted; epoll: deadline
};

// The ops a backend has in flight, linked through the ops themselves (no allocation).
class PendingOps {
 public:
  void add(Op& op) {
    op.pending_ = true;
    if (op.scope_ != nullptr) op.scope_->started();
    op.prevPending_ = nullptr;
    op.nextPending_ = head_;
    if (head_ != nullptr) head_->prevPending_ = &op;
    head_ = &op;
    ++count_;
  }
  void remove(Op& op) {
    if (op.prevPending_ != nullptr) {
      op.prevPending_->nextPending_ = op.nextPending_;
    } else {
      head_ = op.nextPending_;
    }
    if (op.nextPending_ != nullptr) op.nextPending_->prevPending_ = op.prevPending_;
    op.prevPending_ = op.nextPending_ = nullptr;
    op.pending_ = false;
    if (op.scope_ != nullptr) op.scope_->finished();
    --count_;
  }
  size_t size() const { return count_; }
  // Calls fn(op) for each pending op; fn may not add or remove ops.
  template <typename Fn>
  void forEach(Fn&& fn) {
    for (Op* op = head_; op != nullptr; op = op->nextPending_) fn(*op);
  }

 private:
  Op* head_ = nullptr;
  size_t count_ = 0;
};

// Reactor::write's offset for "at the file position" (the end, for an O_APPEND file).
inline constexpr uint64_t kWriteAtFilePosition = static_cast<uint64_t>(-1);

// Binds an Op to a member function: Op op_{bindOp<&Conn::onRecv>(this)};
// With a scope, the op counts in it while in flight: Op op_{bindOp<&Conn::onRecv>(this, scope_)};
template <auto Method, typename Owner>
Op bindOp(Owner* owner, OpScope* scope = nullptr) {
  return Op(
      owner,
      [](void* o, int res, uint32_t flags) noexcept {
        (static_cast<Owner*>(o)->*Method)(res, flags);
      },
      scope);
}
template <auto Method, typename Owner>
Op bindOp(Owner* owner, OpScope& scope) {
  return bindOp<Method>(owner, &scope);
}

}  // namespace udp::reactor
