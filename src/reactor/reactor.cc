#include "reactor/reactor.h"
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
  Error refused;
  if (backend != Backend::kEpoll) {
    std::unique_ptr<Reactor> ring(new Reactor(std::in_place_type<IoUringBackend>));
    Result<void> ready = std::get<IoUringBackend>(ring->backend_).init(entries);
    if (ready) return ring;
    if (backend == Backend::kIoUring) return ready.error();
    refused = ready.error();
  }
  std::unique_ptr<Reactor> epoll(new Reactor(std::in_place_type<EpollBackend>));
  if (Result<void> ready = std::get<EpollBackend>(epoll->backend_).init(); !ready) {
    return ready.error();
  }
  if (fallbackReason != nullptr) *fallbackReason = refused.message;
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

bool Reactor::drain(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (inFlight() > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // Again every turn: a callback may have submitted something new.
    std::visit([](auto& b) { b.cancelAll(); }, backend_);
    if (runOnce(left) < 0) return false;
  }
  return true;
}

int Reactor::runOnce(std::chrono::milliseconds timeout) {
  std::chrono::nanoseconds limit = timeout;
  return turn(&limit);
}

int Reactor::turn(const std::chrono::nanoseconds* timeout) {
  int rc = std::visit([&](auto& b) { return b.turn(timeout); }, backend_);
  if (rc < 0) return rc;
  ++turns_;
  for (auto& hook : turnEndHooks_) hook();
  return 0;
}

}  // namespace udp::reactor
