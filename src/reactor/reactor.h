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
#include <variant>
#include <vector>

#include "reactor/epoll_backend.h"
#include "reactor/io_uring_backend.h"
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
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  Backend backend() const {
    return std::holds_alternative<IoUringBackend>(backend_) ? Backend::kIoUring : Backend::kEpoll;
  }

  // Each call queues one submission; `op` must not be pending. Buffers and addresses passed in
  // belong to the op until its completion arrives.
  void accept(Op& op, int listenFd) {
    std::visit([&](auto& b) { b.accept(op, listenFd); }, backend_);
  }
  void connect(Op& op, int fd, const sockaddr* addr, socklen_t len) {
    std::visit([&](auto& b) { b.connect(op, fd, addr, len); }, backend_);
  }
  void recv(Op& op, int fd, void* buf, size_t len) {
    std::visit([&](auto& b) { b.recv(op, fd, buf, len); }, backend_);
  }
  void send(Op& op, int fd, const void* buf, size_t len) {  // MSG_NOSIGNAL
    std::visit([&](auto& b) { b.send(op, fd, buf, len); }, backend_);
  }
  void read(Op& op, int fd, void* buf, size_t len) {
    std::visit([&](auto& b) { b.read(op, fd, buf, len); }, backend_);
  }
  // Writes at `offset`; kAtFilePosition writes at the file position, which for an O_APPEND file
  // is its end.
  void write(Op& op, int fd, const void* buf, size_t len, uint64_t offset) {
    std::visit([&](auto& b) { b.write(op, fd, buf, len, offset); }, backend_);
  }
  static constexpr uint64_t kAtFilePosition = kWriteAtFilePosition;
  // One-shot; re-arm from the callback.
  void poll(Op& op, int fd, unsigned events) {
    std::visit([&](auto& b) { b.poll(op, fd, events); }, backend_);
  }
  // res is -ETIME when it fires.
  void timeout(Op& op, std::chrono::nanoseconds after) {
    std::visit([&](auto& b) { b.timeout(op, after); }, backend_);
  }
  // Asks for a pending op to be cancelled; the op still completes (usually with -ECANCELED).
  void cancel(Op& op) {
    std::visit([&](auto& b) { b.cancel(op); }, backend_);
  }

  // Ops submitted and not yet completed, of every owner.
  size_t inFlight() const {
    return std::visit([](const auto& b) { return b.inFlight(); }, backend_);
  }
  // At exit, before the owners are destroyed: cancels every op still in flight and runs turns
  // (callbacks see -ECANCELED) until all have completed or `limit` has passed. Returns whether
  // nothing is left in flight; only then may the owners go.
  bool drain(std::chrono::milliseconds limit);

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

 private:
  template <typename B>
  explicit Reactor(std::in_place_type_t<B> which) : backend_(which) {}
  int turn(const std::chrono::nanoseconds* timeout);

  // Concrete (DESIGN.md §5.5): the backend is picked once, at start, and every call is a switch
  // on it rather than a virtual call.
  std::variant<IoUringBackend, EpollBackend> backend_;
  bool stopping_ = false;
  uint64_t turns_ = 0;
  std::vector<std::function<void()>> turnEndHooks_;
};

}  // namespace udp::reactor
