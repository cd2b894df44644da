#include "reactor/epoll_backend.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <climits>
#include <string>

namespace udp::reactor {
namespace {

using Clock = std::chrono::steady_clock;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

int64_t deadlineOf(const __kernel_timespec& ts) {
  return ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
}

int syscallResult(ssize_t rc) {
  return rc < 0 ? -errno : static_cast<int>(rc);
}

}  // namespace

uint32_t EpollBackend::interestOf(const Op& op) {
  switch (op.request_.kind) {
    case Op::Kind::kAccept:
    case Op::Kind::kRecv:
    case Op::Kind::kRead:
      return EPOLLIN;
    case Op::Kind::kConnect:
    case Op::Kind::kSend:
    case Op::Kind::kWrite:
      return EPOLLOUT;
    case Op::Kind::kPoll:
      // poll(2) and epoll share these bit values.
      return static_cast<uint32_t>(op.request_.offset) &
             (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
    case Op::Kind::kTimeout:
      break;
  }
  return 0;
}

uint32_t EpollBackend::relevantEvents(const Op& op, uint32_t happened) {
  return happened & (interestOf(op) | EPOLLERR | EPOLLHUP);
}

Result<void> EpollBackend::init() {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return makeError(-errno, std::string("epoll_create1: ") + strerror(errno));
  epoll_.reset(fd);
  return {};
}

void EpollBackend::submit(Op& op, Op::Kind kind, int fd, void* buffer, size_t length,
                          uint64_t offset) {
  pending_.add(op);
  Op::Request& r = op.request_;
  r.kind = kind;
  r.stage = Op::Stage::kSubmitted;
  r.connecting = false;
  r.fd = fd;
  r.buffer = buffer;
  r.length = length;
  r.offset = offset;
  r.nextWaiter = nullptr;
  submitted_.push_back(&op);
}

void EpollBackend::accept(Op& op, int listenFd) {
  submit(op, Op::Kind::kAccept, listenFd, nullptr, 0, 0);
}

void EpollBackend::connect(Op& op, int fd, const sockaddr* addr, socklen_t len) {
  submit(op, Op::Kind::kConnect, fd, nullptr, 0, len);
  op.request_.address = addr;
}

void EpollBackend::recv(Op& op, int fd, void* buf, size_t len) {
  submit(op, Op::Kind::kRecv, fd, buf, len, 0);
}

void EpollBackend::send(Op& op, int fd, const void* buf, size_t len) {
  submit(op, Op::Kind::kSend, fd, const_cast<void*>(buf), len, 0);
}

void EpollBackend::read(Op& op, int fd, void* buf, size_t len) {
  submit(op, Op::Kind::kRead, fd, buf, len, 0);
}

void EpollBackend::write(Op& op, int fd, const void* buf, size_t len, uint64_t offset) {
  submit(op, Op::Kind::kWrite, fd, const_cast<void*>(buf), len, offset);
}

void EpollBackend::poll(Op& op, int fd, unsigned events) {
  submit(op, Op::Kind::kPoll, fd, nullptr, 0, events);
}

void EpollBackend::timeout(Op& op, std::chrono::nanoseconds after) {
  submit(op, Op::Kind::kTimeout, -1, nullptr, 0, 0);
  int64_t at = nowNs() + (after.count() < 0 ? 0 : after.count());
  op.timeout_.tv_sec = at / 1'000'000'000;
  op.timeout_.tv_nsec = at % 1'000'000'000;
}

void EpollBackend::cancel(Op& op) {
  if (!op.pending_) return;
  switch (op.request_.stage) {
    case Op::Stage::kSubmitted:
      break;  // still in submitted_, which skips it from now on
    case Op::Stage::kWaiting:
      unlink(op);
      break;
    case Op::Stage::kTimer:
      timers_.erase({deadlineOf(op.timeout_), &op});
      break;
    case Op::Stage::kCompleting:
      return;  // its result is already on the way
  }
  finish(op, -ECANCELED);
}

void EpollBackend::cancelAll() {
  pending_.forEach([this](Op& op) { cancel(op); });
}

int EpollBackend::perform(Op& op) {
  Op::Request& r = op.request_;
  switch (r.kind) {
    case Op::Kind::kAccept:
      return syscallResult(accept4(r.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    case Op::Kind::kConnect: {
      if (r.connecting) {
        int error = 0;
        socklen_t len = sizeof error;
        if (getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) return -errno;
        return -error;
      }
      if (::connect(r.fd, r.address, static_cast<socklen_t>(r.offset)) == 0) return 0;
      if (errno != EINPROGRESS) return -errno;
      r.connecting = true;
      return -EAGAIN;
    }
    case Op::Kind::kRecv:
      return syscallResult(::recv(r.fd, r.buffer, r.length, MSG_DONTWAIT));
    case Op::Kind::kSend:
      return syscallResult(::send(r.fd, r.buffer, r.length, MSG_DONTWAIT | MSG_NOSIGNAL));
    case Op::Kind::kRead:
      return syscallResult(::read(r.fd, r.buffer, r.length));
    case Op::Kind::kWrite:
      if (r.offset == kWriteAtFilePosition) return syscallResult(::write(r.fd, r.buffer, r.length));
      return syscallResult(::pwrite(r.fd, r.buffer, r.length, static_cast<off_t>(r.offset)));
    case Op::Kind::kPoll:
      // Only reached for fds epoll cannot watch (regular files), which poll(2) calls ready.
      return static_cast<int>(r.offset & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM));
    case Op::Kind::kTimeout:
      break;
  }
  return -EINVAL;
}

bool EpollBackend::attempt(Op& op, bool ready) {
  const Op::Kind kind = op.request_.kind;
  // Reads and writes are tried only once epoll says so: their fds (inotify, signalfd, a pipe)
  // may be blocking, and a blocking read would stall the loop.
  bool waitFirst =
      !ready && (kind == Op::Kind::kRead || kind == Op::Kind::kWrite || kind == Op::Kind::kPoll);
  if (!waitFirst) {
    int res = perform(op);
    if (res != -EAGAIN && res != -EWOULDBLOCK) {
      finish(op, res);
      return true;
    }
  }
  wait(op);
  return false;
}

void EpollBackend::wait(Op& op) {
  Op::Request& r = op.request_;
  if (r.fd < 0) {
    finish(op, -EBADF);
    return;
  }
  if (static_cast<size_t>(r.fd) >= waiters_.size()) waiters_.resize(r.fd + 1);
  r.stage = Op::Stage::kWaiting;
  r.nextWaiter = waiters_[r.fd].first;
  waiters_[r.fd].first = &op;
  markChanged(r.fd);
}

void EpollBackend::unlink(Op& op) {
  Waiters& w = waiters_[op.request_.fd];
  for (Op** link = &w.first; *link != nullptr; link = &(*link)->request_.nextWaiter) {
    if (*link == &op) {
      *link = op.request_.nextWaiter;
      break;
    }
  }
  op.request_.nextWaiter = nullptr;
  markChanged(op.request_.fd);
}

void EpollBackend::markChanged(int fd) {
  if (waiters_[fd].changed) return;
  waiters_[fd].changed = true;
  changedFds_.push_back(fd);
}

void EpollBackend::applyInterest() {
  // Ops finished here may be waiters of other changed fds; loop until nothing changes.
  while (!changedFds_.empty()) {
    int fd = changedFds_.back();
    changedFds_.pop_back();
    Waiters& w = waiters_[fd];
    w.changed = false;
    uint32_t wanted = 0;
    for (Op* op = w.first; op != nullptr; op = op->request_.nextWaiter) {
      wanted |= interestOf(*op);
    }
    if (wanted == w.registered) continue;
    epoll_event ev{};
    ev.events = wanted;
    ev.data.fd = fd;
    int rc;
    if (wanted == 0) {
      // Errors are fine: a closed fd has already left the epoll set.
      epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
      w.registered = 0;
      continue;
    }
    int op = w.registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    rc = epoll_ctl(epoll_.get(), op, fd, &ev);
    // Our view and epoll's can differ after the owner closed an fd and its number came back.
    if (rc < 0 && errno == ENOENT) rc = epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && errno == EEXIST) rc = epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
    if (rc == 0) {
      w.registered = wanted;
      continue;
    }
    // EPERM: a regular file, always ready, so every waiter runs now. Anything else (EBADF) is
    // the waiters' result.
    int error = errno;
    w.registered = 0;
    while (Op* waiter = w.first) {
      w.first = waiter->request_.nextWaiter;
      waiter->request_.nextWaiter = nullptr;
      finish(*waiter, error == EPERM ? perform(*waiter) : -error);
    }
  }
}

void EpollBackend::finish(Op& op, int res) {
  op.request_.stage = Op::Stage::kCompleting;
  completions_.push_back({&op, res});
}

void EpollBackend::fireTimers() {
  if (timers_.empty()) return;
  int64_t now = nowNs();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Op* op = timers_.begin()->second;
    timers_.erase(timers_.begin());
    finish(*op, -ETIME);
  }
}

int EpollBackend::waitMilliseconds(const std::chrono::nanoseconds* limit) const {
  if (!completions_.empty()) return 0;
  int64_t wait = limit == nullptr ? -1 : limit->count();
  if (!timers_.empty()) {
    int64_t untilTimer = timers_.begin()->first - nowNs();
    if (untilTimer < 0) untilTimer = 0;
    if (wait < 0 || untilTimer < wait) wait = untilTimer;
  }
  if (wait < 0) return -1;
  // Rounded up: waking before the deadline would only spin.
  int64_t ms = (wait + 999'999) / 1'000'000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

int EpollBackend::turn(const std::chrono::nanoseconds* timeout) {
  trying_.swap(submitted_);
  for (Op* op : trying_) {
    if (op->request_.stage != Op::Stage::kSubmitted) continue;  // cancelled meanwhile
    if (op->request_.kind == Op::Kind::kTimeout) {
      op->request_.stage = Op::Stage::kTimer;
      timers_.insert({deadlineOf(op->timeout_), op});
    } else {
      attempt(*op, false);
    }
  }
  trying_.clear();
  applyInterest();

  int n = epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                     waitMilliseconds(timeout));
  if (n < 0 && errno != EINTR) return -errno;
  for (int i = 0; i < n; ++i) {
    int fd = events_[i].data.fd;
    uint32_t happened = events_[i].events;
    // Unlinked before any is tried: attempt() links back those that must wait again.
    readyOps_.clear();
    for (Op** link = &waiters_[fd].first; Op* op = *link;) {
      Op::Request& r = op->request_;
      if (relevantEvents(*op, happened) == 0) {
        link = &r.nextWaiter;
        continue;
      }
      *link = r.nextWaiter;
      r.nextWaiter = nullptr;
      readyOps_.push_back(op);
    }
    if (!readyOps_.empty()) markChanged(fd);
    for (Op* op : readyOps_) {
      Op::Request& r = op->request_;
      if (r.kind == Op::Kind::kPoll) {
        finish(*op, static_cast<int>(relevantEvents(*op, happened)));
      } else {
        attempt(*op, true);
      }
    }
  }
  if (n == static_cast<int>(events_.size())) events_.resize(events_.size() * 2);
  fireTimers();
  applyInterest();

  batch_.swap(completions_);
  for (const Completion& c : batch_) {
    pending_.remove(*c.op);
    c.op->dispatch(c.res, 0);
  }
  batch_.clear();
  return 0;
}

}  // namespace udp::reactor
