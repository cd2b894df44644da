#include "reactor/io_uring_backend.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace udp::reactor {
namespace {

// Reads kernel.io_uring_disabled (Linux 6.6+): 1 = only a group may use it, 2 = nobody.
std::string ioUringDisabledSetting() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  std::string value;
  if (in >> value) return value;
  return {};
}

std::string explainSetupFailure(int err) {
  std::string why = "io_uring is not available: " + std::string(strerror(err));
  if (err == ENOSYS) {
    why += " (the kernel is older than 5.1 or built without CONFIG_IO_URING)";
  } else if (err == EPERM || err == EACCES) {
    std::string disabled = ioUringDisabledSetting();
    if (!disabled.empty() && disabled != "0") {
      why += " (sysctl kernel.io_uring_disabled=" + disabled + ")";
    } else {
      why += " (refused by a seccomp filter, e.g. a container runtime's default profile)";
    }
  } else if (err == ENOMEM) {
    why += " (RLIMIT_MEMLOCK too low for the ring)";
  }
  return why;
}

}  // namespace

Result<void> IoUringBackend::init(unsigned entries) {
  io_uring_params params{};
  // The completion queue is larger than the submission queue so that bursts of completions
  // (many connections at once) do not overflow before we reap them.
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &ring_, &params);
  if (rc < 0) return makeError(rc, explainSetupFailure(-rc));
  ringReady_ = true;
  return {};
}

IoUringBackend::~IoUringBackend() {
  if (ringReady_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* IoUringBackend::nextSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    // The submission queue is full: hand what we have to the kernel to make room.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (sqe == nullptr) {
    // Cannot happen after a submit on a non-SQPOLL ring; the daemon cannot go on without it.
    fprintf(stderr, "fatal: io_uring submission queue exhausted\n");
    abort();
  }
  return sqe;
}

void IoUringBackend::prepared(io_uring_sqe* sqe, Op& op) {
  pending_.add(op);
  op.request_.kind = sqe->opcode == IORING_OP_TIMEOUT ? Op::Kind::kTimeout : Op::Kind::kPoll;
  io_uring_sqe_set_data(sqe, &op);
}

void IoUringBackend::accept(Op& op, int listenFd) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_accept(sqe, listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  prepared(sqe, op);
}

void IoUringBackend::connect(Op& op, int fd, const sockaddr* addr, socklen_t len) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_connect(sqe, fd, addr, len);
  prepared(sqe, op);
}

void IoUringBackend::recv(Op& op, int fd, void* buf, size_t len) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_recv(sqe, fd, buf, len, 0);
  prepared(sqe, op);
}

void IoUringBackend::send(Op& op, int fd, const void* buf, size_t len) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
  prepared(sqe, op);
}

void IoUringBackend::read(Op& op, int fd, void* buf, size_t len) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(len), 0);
  prepared(sqe, op);
}

void IoUringBackend::write(Op& op, int fd, const void* buf, size_t len, uint64_t offset) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_write(sqe, fd, buf, static_cast<unsigned>(len), offset);
  prepared(sqe, op);
}

void IoUringBackend::poll(Op& op, int fd, unsigned events) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_poll_add(sqe, fd, events);
  prepared(sqe, op);
}

void IoUringBackend::timeout(Op& op, std::chrono::nanoseconds after) {
  auto ns = after.count() < 0 ? 0 : after.count();
  op.timeout_.tv_sec = ns / 1'000'000'000;
  op.timeout_.tv_nsec = ns % 1'000'000'000;
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_timeout(sqe, &op.timeout_, 0, 0);
  prepared(sqe, op);
}

void IoUringBackend::cancel(Op& op) {
  if (!op.pending_) return;
  io_uring_sqe* sqe = nextSqe();
  if (op.request_.kind == Op::Kind::kTimeout) {
    // Timeouts are not cancelled by ASYNC_CANCEL but by TIMEOUT_REMOVE.
    io_uring_prep_timeout_remove(sqe, reinterpret_cast<__u64>(&op), 0);
  } else {
    io_uring_prep_cancel(sqe, &op, 0);
  }
  // The cancel's own completion carries no owner.
  io_uring_sqe_set_data(sqe, nullptr);
}

int IoUringBackend::turn(const std::chrono::nanoseconds* timeout) {
  io_uring_cqe* first = nullptr;
  int rc;
  if (timeout == nullptr) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout->count() / 1'000'000'000;
    ts.tv_nsec = timeout->count() % 1'000'000'000;
    rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &ts, nullptr);
  }
  if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) return rc;

  // Copy the batch out and release the CQ ring once, so callbacks may submit freely.
  batch_.clear();
  io_uring_cqe* cqe;
  unsigned head;
  unsigned seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    // LIBURING_UDATA_TIMEOUT: liburing's own timeout on kernels without EXT_ARG (< 5.11).
    if (cqe->user_data == LIBURING_UDATA_TIMEOUT) continue;
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    if (op != nullptr) batch_.push_back({op, cqe->res, cqe->flags});
  }
  io_uring_cq_advance(&ring_, seen);

  for (const Completion& c : batch_) {
    pending_.remove(*c.op);
    c.op->dispatch(c.res, c.flags);
  }
  return 0;
}

void IoUringBackend::cancelAll() {
  pending_.forEach([this](Op& op) { cancel(op); });
}

}  // namespace udp::reactor
