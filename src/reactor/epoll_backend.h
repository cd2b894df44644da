#pragma once

// The reactor on epoll, for kernels that refuse io_uring. Each op is kept (Op::Request) and
// tried when its fd is ready: sockets with MSG_DONTWAIT or after readiness, regular files (which
// epoll cannot watch) at once. Timeouts are an ordered set that bounds the wait.

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "reactor/op.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::reactor {

class EpollBackend {
 public:
  EpollBackend() = default;
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;
  Result<void> init();

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
  // As IoUringBackend::turn.
  int turn(const std::chrono::nanoseconds* timeout);

 private:
  struct Waiters {
    Op* first = nullptr;
    uint32_t registered = 0;  // the events epoll watches for this fd now
    bool changed = false;     // in changedFds_
  };
  using Deadline = std::pair<int64_t, Op*>;  // steady-clock nanoseconds, then the op

  static uint32_t interestOf(const Op& op);  // the events a waiting op needs from its fd
  // What of `happened` concerns a waiting op: its own events, and errors and hang-ups always.
  static uint32_t relevantEvents(const Op& op, uint32_t happened);
  void submit(Op& op, Op::Kind kind, int fd, void* buffer, size_t length, uint64_t offset);
  // Tries the op's system call; returns false when it must wait for its fd. `ready` says epoll
  // reported the fd (read and write wait for that before their first try).
  bool attempt(Op& op, bool ready);
  int perform(Op& op);  // the system call itself; -EAGAIN when it would block
  void wait(Op& op);
  void unlink(Op& op);
  void markChanged(int fd);
  void applyInterest();  // tells epoll what changed since the last call
  void finish(Op& op, int res);
  void fireTimers();
  int waitMilliseconds(const std::chrono::nanoseconds* limit) const;

  UniqueFd epoll_;
  PendingOps pending_;
  std::vector<Op*> submitted_;    // tried at the start of the next turn
  std::vector<Op*> trying_;       // reused: submitted_ of this turn
  std::vector<Op*> readyOps_;     // reused: the waiters of one ready fd
  std::vector<Waiters> waiters_;  // indexed by fd
  std::vector<int> changedFds_;
  std::set<Deadline> timers_;
  struct Completion {
    Op* op;
    int res;
  };
  std::vector<Completion> completions_;  // reported in the next dispatch
  std::vector<Completion> batch_;        // reused: the dispatch in progress
  std::vector<epoll_event> events_ = std::vector<epoll_event>(64);
};

}  // namespace udp::reactor
