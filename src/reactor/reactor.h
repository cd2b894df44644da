#pragma once

// The one event loop (DESIGN.md §4): a single thread, one io_uring. Every I/O of the daemon is a
// submission here, and every callback runs on this thread, so nothing needs a lock.
//
// Where the kernel refuses io_uring (a container runtime's default seccomp profile,
// kernel.io_uring_disabled) the same interface runs on epoll: each op is then tried when its fd
// is ready. The owners cannot tell the difference: completions still arrive only from run(),
// never inside the call that submitted them.

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/op.h"
#include "util/result.h"

namespace udp::reactor {

enum class Backend { kAuto, kIoUring, kEpoll };
std::string_view backendName(Backend backend);
// "auto", "io_uring" or "epoll".
std::optional<Backend> parseBackend(std::string_view name);

class Reactor {
 public:
  // An io_uring reactor. Fails with one line naming the cause when the kernel refuses io_uring
  // (ENOSYS: too old or compiled out; EPERM: seccomp or kernel.io_uring_disabled).
  static Result<std::unique_ptr<Reactor>> create(unsigned entries = 256);
  // kAuto tries io_uring and takes epoll when the kernel refuses it; `fallbackReason` (optional)
  // then says why, for the caller to log once.
  static Result<std::unique_ptr<Reactor>> create(Backend backend, unsigned entries = 256,
                                                 std::string* fallbackReason = nullptr);
  virtual ~Reactor() = default;
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  virtual Backend backend() const = 0;

  // Each call queues one submission; `op` must not be pending. Buffers and addresses passed in
  // belong to the op until its completion arrives.
  virtual void accept(Op& op, int listenFd) = 0;
  virtual void connect(Op& op, int fd, const sockaddr* addr, socklen_t len) = 0;
  virtual void recv(Op& op, int fd, void* buf, size_t len) = 0;
  virtual void send(Op& op, int fd, const void* buf, size_t len) = 0;  // MSG_NOSIGNAL
  virtual void read(Op& op, int fd, void* buf, size_t len) = 0;
  // Writes at `offset`; kAtFilePosition writes at the file position, which for an O_APPEND file
  // is its end.
  virtual void write(Op& op, int fd, const void* buf, size_t len, uint64_t offset) = 0;
  static constexpr uint64_t kAtFilePosition = static_cast<uint64_t>(-1);
  virtual void poll(Op& op, int fd, unsigned events) = 0;  // one-shot; re-arm from the callback
  virtual void timeout(Op& op, std::chrono::nanoseconds after) = 0;  // res is -ETIME when it fires
  // Asks for a pending op to be cancelled; the op still completes (usually with -ECANCELED).
  virtual void cancel(Op& op) = 0;

  // Runs `hook` after every batch of completions, in registration order: where the inventory
  // coalesces changes into one message and closed connections are freed (never inside a
  // completion).
  void addTurnEndHook(std::function<void()> hook);

  // Runs until stop(); returns 0, or a negative errno if waiting for completions failed.
  int run();
  // One turn: waits up to `timeout` for completions and dispatches them (tests step with it).
  int runOnce(std::chrono::milliseconds timeout);
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }
  uint64_t turns() const { return turns_; }

 protected:
  Reactor() = default;
  // Submits what was queued, waits for at least one completion (or `timeout`, when set) and
  // dispatches the batch; returns 0 or a negative errno.
  virtual int turn(const std::chrono::nanoseconds* timeout) = 0;
  // Called by turn() once the batch is dispatched.
  void endTurn();

 private:
  bool stopping_ = false;
  uint64_t turns_ = 0;
  std::vector<std::function<void()>> turnEndHooks_;
};

}  // namespace udp::reactor
