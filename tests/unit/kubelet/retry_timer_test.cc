// The registrations' retry timer (kubelet/retry_timer.h) on a real reactor: delays, one retry
// owed at a time, cancel, and a retry wanted again before a cancellation completed.

#include "kubelet/retry_timer.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>

namespace udp::kubelet {
namespace {

using namespace std::chrono_literals;

// An owner as the registrations are: the op embedded and bound, the timer over it.
struct Owner {
  explicit Owner(reactor::Reactor& reactor) : reactor(reactor) {}
  void onTimer(int res, uint32_t) noexcept {
    ++completions;
    if (retry.fired(res)) ++retries;
  }

  reactor::Reactor& reactor;
  int completions = 0;
  int retries = 0;
  reactor::Op op{reactor::bindOp<&Owner::onTimer>(this)};
  RetryTimer retry{reactor, op, 1ms, 4ms};
};

std::unique_ptr<reactor::Reactor> makeReactor() {
  auto r = reactor::Reactor::create(reactor::Backend::kEpoll, 16);
  REQUIRE(r.ok());
  return std::move(*r);
}

bool runUntil(reactor::Reactor& reactor, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    reactor.runOnce(10ms);
  }
  return true;
}

TEST_CASE("each timer armed doubles the next delay up to the cap; reset and startFrom") {
  auto reactor = makeReactor();
  Owner owner(*reactor);
  CHECK(owner.retry.nextDelay() == 1ms);
  for (auto expected : {2ms, 4ms, 4ms}) {
    int before = owner.retries;
    owner.retry.schedule();
    CHECK(owner.retry.nextDelay() == expected);
    REQUIRE(runUntil(*reactor, [&] { return owner.retries == before + 1; }));
    CHECK_FALSE(owner.op.pending());
  }
  owner.retry.reset();
  CHECK(owner.retry.nextDelay() == 1ms);
  owner.retry.startFrom(3ms);
  CHECK(owner.retry.nextDelay() == 3ms);
  owner.retry.schedule();
  CHECK(owner.retry.nextDelay() == 4ms);
  REQUIRE(runUntil(*reactor, [&] { return owner.retries == 4; }));
}

TEST_CASE("one retry owed at a time: wanting it again while armed changes nothing") {
  auto reactor = makeReactor();
  Owner owner(*reactor);
  owner.retry.schedule();
  owner.retry.schedule();
  CHECK(owner.retry.nextDelay() == 2ms);  // armed once
  REQUIRE(runUntil(*reactor, [&] { return !owner.op.pending(); }));
  CHECK(owner.completions == 1);
  CHECK(owner.retries == 1);
}

TEST_CASE("cancelled: the completion is no retry") {
  auto reactor = makeReactor();
  Owner owner(*reactor);
  owner.retry.schedule();
  owner.retry.cancel();
  REQUIRE(runUntil(*reactor, [&] { return !owner.op.pending(); }));
  CHECK(owner.completions == 1);
  CHECK(owner.retries == 0);
  owner.retry.cancel();  // nothing armed: harmless
  reactor->runOnce(0ms);
  CHECK(owner.retries == 0);
}

TEST_CASE("wanted again before the cancellation completed: re-armed from it, one retry") {
  auto reactor = makeReactor();
  Owner owner(*reactor);
  owner.retry.startFrom(1h);  // would never fire by itself within the test
  owner.retry.schedule();
  owner.retry.cancel();
  REQUIRE(owner.op.pending());  // the cancellation completes later
  owner.retry.startFrom(1ms);
  owner.retry.schedule();  // cannot arm the op in flight: its completion does
  REQUIRE(runUntil(*reactor, [&] { return owner.retries == 1; }));
  CHECK(owner.completions == 2);  // the cancelled one, then the retry
  CHECK_FALSE(owner.op.pending());
}

}  // namespace
}  // namespace udp::kubelet
