#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace udp::reactor {

// One in-flight submission (DESIGN.md §4). An Op is embedded in its owner and never copied or
// moved: its address is the SQE's user_data (io_uring) or sits in the readiness lists (epoll), so
// it must outlive the completion. Completion runs `fn` with the result (a byte count, an fd, or a
// negative errno) and flags.
class Op {
 public:
  using Fn = void (*)(void* owner, int res, uint32_t flags) noexcept;

  Op(void* owner, Fn fn) : owner_(owner), fn_(fn) {}
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  bool pending() const { return pending_; }

 private:
  friend class IoUringBackend;
  friend class EpollBackend;

  void complete(int res, uint32_t flags) noexcept {
    pending_ = false;
    fn_(owner_, res, flags);
  }

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
  bool pending_ = false;
  Request request_;
  __kernel_timespec timeout_{};  // io_uring reads it when the timeout is submitted; epoll: deadline
};

// Reactor::write's offset for "at the file position" (the end, for an O_APPEND file).
inline constexpr uint64_t kWriteAtFilePosition = static_cast<uint64_t>(-1);

// Binds an Op to a member function: Op op_{bindOp<&Conn::onRecv>(this)};
template <auto Method, typename Owner>
Op bindOp(Owner* owner) {
  return Op(owner, [](void* o, int res, uint32_t flags) noexcept {
    (static_cast<Owner*>(o)->*Method)(res, flags);
  });
}

}  // namespace udp::reactor
