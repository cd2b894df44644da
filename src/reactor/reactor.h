#pragma once

// The one event loop (DESIGN.md §4): a single thread, one io_uring. Every I/O of the daemon is a
// submission here, and every callback runs on this thread, so nothing needs a lock.

#include <liburing.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "reactor/op.h"
#include "util/result.h"

namespace udp::reactor {

class Reactor {
 public:
  // Fails with one line naming the cause when the kernel refuses io_uring (ENOSYS: too old or
  // compiled out; EPERM: seccomp or kernel.io_uring_disabled).
  static Result<std::unique_ptr<Reactor>> create(unsigned entries = 256);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Each call queues one submission; `op` must not be pending. Buffers and addresses passed in
  // belong to the op until its completion arrives.
  void accept(Op& op, int listenFd);
  void connect(Op& op, int fd, const sockaddr* addr, socklen_t len);
  void recv(Op& op, int fd, void* buf, size_t len);
  void send(Op& op, int fd, const void* buf, size_t len);  // MSG_NOSIGNAL
  void read(Op& op, int fd, void* buf, size_t len);
  // Writes at `offset`; kAtFilePosition writes at the file position, which for an O_APPEND file
  // is its end.
  void write(Op& op, int fd, const void* buf, size_t len, uint64_t offset);
  static constexpr uint64_t kAtFilePosition = static_cast<uint64_t>(-1);
  void poll(Op& op, int fd, unsigned events);            // one-shot; re-arm from the callback
  void timeout(Op& op, std::chrono::nanoseconds after);  // res is -ETIME when it fires
  // Asks the kernel to cancel a pending op; the op still completes (usually with -ECANCELED).
  void cancel(Op& op);

  // Runs `hook` after every batch of completions, in registration order: where the inventory
  // coalesces changes into one message and closed connections are freed (never inside a
  // completion).
  void addTurnEndHook(std::function<void()> hook);

  // Runs until stop(); returns 0, or a negative errno if waiting on the ring failed.
  int run();
  // One turn: waits up to `timeout` for completions and dispatches them (tests step with it).
  int runOnce(std::chrono::milliseconds timeout);
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }
  uint64_t turns() const { return turns_; }

 private:
  Reactor() = default;
  io_uring_sqe* nextSqe();
  int turn(__kernel_timespec* timeout);
  void prepared(io_uring_sqe* sqe, Op& op);

  struct Completion {
    Op* op;
    int res;
    uint32_t flags;
  };

  io_uring ring_{};
  std::vector<Completion> batch_;  // reused every turn
  bool ringReady_ = false;
  bool stopping_ = false;
  uint64_t turns_ = 0;
  std::vector<std::function<void()>> turnEndHooks_;
};

}  // namespace udp::reactor
