#include "reactor/reactor.h"

#include "reactor/epoll_reactor.h"
#include "reactor/io_uring_reactor.h"

namespace udp::reactor {

std::string_view backendName(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kIoUring:
      return "io_uring";
    case Backend::kEpoll:
      return "epoll";
  }
  return "?";
}

std::optional<Backend> parseBackend(std::string_view name) {
  for (Backend b : {Backend::kAuto, Backend::kIoUring, Backend::kEpoll}) {
    if (name == backendName(b)) return b;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Reactor>> Reactor::create(unsigned entries) {
  return create(Backend::kIoUring, entries);
}

Result<std::unique_ptr<Reactor>> Reactor::create(Backend backend, unsigned entries,
                                                 std::string* fallbackReason) {
  if (backend == Backend::kEpoll) return EpollReactor::create();
  Result<std::unique_ptr<Reactor>> ring = IoUringReactor::create(entries);
  if (ring || backend == Backend::kIoUring) return ring;
  Result<std::unique_ptr<Reactor>> epoll = EpollReactor::create();
  if (epoll && fallbackReason != nullptr) *fallbackReason = ring.error().message;
  return epoll;
}

void Reactor::addTurnEndHook(std::function<void()> hook) {
  turnEndHooks_.push_back(std::move(hook));
}

int Reactor::run() {
  while (!stopping_) {
    int rc = turn(nullptr);
    if (rc < 0) return rc;
  }
  return 0;
}

int Reactor::runOnce(std::chrono::milliseconds timeout) {
  std::chrono::nanoseconds limit = timeout;
  return turn(&limit);
}

void Reactor::endTurn() {
  ++turns_;
  for (auto& hook : turnEndHooks_) hook();
}

}  // namespace udp::reactor
