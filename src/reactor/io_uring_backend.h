#pragma once

// The reactor on io_uring: every op is one SQE, every completion one CQE.

#include <liburing.h>

#include <chrono>
#include <vector>

#include "reactor/op.h"
#include "util/result.h"

namespace udp::reactor {

class IoUringBackend {
 public:
  IoUringBackend() = default;
  ~IoUringBackend();
  IoUringBackend(const IoUringBackend&) = delete;
  IoUringBackend& operator=(const IoUringBackend&) = delete;
  // Sets up the ring; fails with one line naming why the kernel refused it.
  Result<void> init(unsigned entries);

  void accept(Op& op, int listenFd);
  void connect(Op& op, int fd, const sockaddr* addr, socklen_t len);
  void recv(Op& op, int fd, void* buf, size_t len);
  void send(Op& op, int fd, const void* buf, size_t len);
  void read(Op& op, int fd, void* buf, size_t len);
  void write(Op& op, int fd, const void* buf, size_t len, uint64_t offset);
  void poll(Op& op, int fd, unsigned events);
  void timeout(Op& op, std::chrono::nanoseconds after);
  void cancel(Op& op);
  void cancelAll();
  size_t inFlight() const { return pending_.size(); }
  // Submits what was queued, waits for at least one completion (or `timeout`, when set) and
  // dispatches the batch; returns 0 or a negative errno.
  int turn(const std::chrono::nanoseconds* timeout);

 private:
  io_uring_sqe* nextSqe();
  void prepared(io_uring_sqe* sqe, Op& op);

  struct Completion {
    Op* op;
    int res;
    uint32_t flags;
  };

  io_uring ring_{};
  PendingOps pending_;
  std::vector<Completion> batch_;  // reused every turn
  bool ringReady_ = false;
};

}  // namespace udp::reactor
