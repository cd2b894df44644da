// Owners and their ops in flight (issue: a runtime freed while its cancelled accept was pending):
// scopes count every op of an owner and of the owners below it; destroying an op in flight stops
// the process; drain() completes everything before owners go.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "reactor/reactor.h"
#include "util/unique_fd.h"

namespace {

using namespace std::chrono_literals;
using udp::UniqueFd;
using udp::reactor::Backend;
using udp::reactor::Op;
using udp::reactor::OpScope;
using udp::reactor::Reactor;

struct Owner {
  explicit Owner(OpScope* parent = nullptr) : scope(parent) {}
  OpScope scope;
  int calls = 0;
  int last = 0;
  char buf[16] = {};
  Op timer{udp::reactor::bindOp<&Owner::done>(this, scope)};
  Op reader{udp::reactor::bindOp<&Owner::done>(this, scope)};
  void done(int res, uint32_t) noexcept {
    ++calls;
    last = res;
  }
};

std::unique_ptr<Reactor> make(Backend backend) {
  auto r = Reactor::create(backend, 64);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(*r);
}

template <typename Fn>
void forEachBackend(Fn&& fn) {
  for (Backend backend : {Backend::kIoUring, Backend::kEpoll}) {
    CAPTURE(backend);
    fn(backend);
  }
}

// Runs `body` in a child and returns how it ended.
template <typename Fn>
int childStatus(Fn&& body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child's report is expected; keep it out of the test's output.
    freopen("/dev/null", "w", stderr);
    freopen("/dev/null", "w", stdout);
    signal(SIGABRT, SIG_DFL);  // not doctest's crash report: the parent judges the ending
    body();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

TEST_CASE("a scope counts its own ops and those of the scopes below it") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    OpScope runtime;
    Owner server(&runtime), connection(&server.scope);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    UniqueFd a(fds[0]), b(fds[1]);

    reactor->timeout(server.timer, 1h);
    reactor->recv(connection.reader, a.get(), connection.buf, sizeof connection.buf);
    CHECK(server.scope.inFlight() == 2);
    CHECK(connection.scope.inFlight() == 1);
    CHECK(runtime.inFlight() == 2);
    CHECK(reactor->inFlight() == 2);

    // A completion leaves the count before its callback runs, so the callback may resubmit.
    REQUIRE(::send(b.get(), "x", 1, 0) == 1);
    for (int i = 0; i < 100 && connection.calls == 0; ++i) reactor->runOnce(10ms);
    CHECK(connection.last == 1);
    CHECK(connection.scope.idle());
    CHECK(runtime.inFlight() == 1);

    reactor->cancel(server.timer);
    for (int i = 0; i < 100 && server.calls == 0; ++i) reactor->runOnce(10ms);
    CHECK(server.last == -ECANCELED);
    CHECK(runtime.idle());
    CHECK(reactor->inFlight() == 0);
  });
}

TEST_CASE(
    "destroying an owner with an op in flight stops the process instead of a use-after-free") {
  forEachBackend([](Backend backend) {
    int status = childStatus([backend] {
      auto reactor = make(backend);
      auto owner = std::make_unique<Owner>();
      reactor->timeout(owner->timer, 1h);
      owner.reset();  // the kernel would complete into freed memory
    });
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);

    // The same owner, drained first, goes quietly.
    status = childStatus([backend] {
      auto reactor = make(backend);
      auto owner = std::make_unique<Owner>();
      reactor->timeout(owner->timer, 1h);
      if (!reactor->drain(2s)) _exit(3);
      owner.reset();
    });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  });
}

TEST_CASE("drain cancels everything in flight, including what callbacks submit again") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    Owner owner;
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    UniqueFd a(fds[0]), b(fds[1]);
    reactor->timeout(owner.timer, 1h);
    reactor->recv(owner.reader, a.get(), owner.buf, sizeof owner.buf);
    // A stubborn owner: re-arms its recv on every completion, cancelled or not.
    struct Stubborn {
      Stubborn(Reactor* r, int f) : reactor(r), fd(f) {}
      Reactor* reactor;
      int fd;
      char buf[4] = {};
      int calls = 0;
      OpScope scope;
      Op op{udp::reactor::bindOp<&Stubborn::done>(this, scope)};
      void done(int, uint32_t) noexcept {
        if (++calls < 3) reactor->recv(op, fd, buf, sizeof buf);
      }
    } stubborn(reactor.get(), a.get());
    reactor->recv(stubborn.op, a.get(), stubborn.buf, sizeof stubborn.buf);
    CHECK(reactor->inFlight() == 3);
    CHECK(reactor->drain(2s));
    CHECK(reactor->inFlight() == 0);
    CHECK(owner.scope.idle());
    CHECK(stubborn.calls == 3);
    CHECK(owner.last == -ECANCELED);
  });
}

}  // namespace
