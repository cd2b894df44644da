#pragma once

// The reactor on io_uring: every op is one SQE, every completion one CQE.

#include <liburing.h>

#include <memory>
#include <vector>

#include "reactor/reactor.h"

namespace udp::reactor {

class IoUringReactor final : public Reactor {
 public:
  static Result<std::unique_ptr<Reactor>> create(unsigned entries);
  ~IoUringReactor() override;

  Backend backend() const override { return Backend::kIoUring; }
  void accept(Op& op, int listenFd) override;
  void connect(Op& op, int fd, const sockaddr* addr, socklen_t len) override;
  void recv(Op& op, int fd, void* buf, size_t len) override;
  void send(Op& op, int fd, const void* buf, size_t len) override;
  void read(Op& op, int fd, void* buf, size_t len) override;
  void write(Op& op, int fd, const void* buf, size_t len, uint64_t offset) override;
  void poll(Op& op, int fd, unsigned events) override;
  void timeout(Op& op, std::chrono::nanoseconds after) override;
  void cancel(Op& op) override;

 protected:
  int turn(const std::chrono::nanoseconds* timeout) override;

 private:
  IoUringReactor() = default;
  io_uring_sqe* nextSqe();
  void prepared(io_uring_sqe* sqe, Op& op);

  struct Completion {
    Op* op;
    int res;
    uint32_t flags;
  };

  io_uring ring_{};
  std::vector<Completion> batch_;  // reused every turn
  bool ringReady_ = false;
};

}  // namespace udp::reactor
