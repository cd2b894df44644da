// The reactor's contract, checked on both backends: every op completes with what the system call
// would return, only from runOnce(), and cancel() always ends in a completion.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <string>

#include "../../support/temp_dir.h"
#include "reactor/reactor.h"
#include "util/unique_fd.h"

namespace {

using namespace std::chrono_literals;
using udp::UniqueFd;
using udp::reactor::Backend;
using udp::reactor::Op;
using udp::reactor::Reactor;

struct Recorder {
  int res = INT_MIN;
  int calls = 0;
  Op op{udp::reactor::bindOp<&Recorder::done>(this)};
  void done(int r, uint32_t) noexcept {
    res = r;
    ++calls;
  }
};

std::unique_ptr<Reactor> make(Backend backend) {
  auto r = Reactor::create(backend, 64);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(*r);
}

bool runUntil(Reactor& reactor, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    reactor.runOnce(10ms);
  }
  return true;
}

struct SocketPair {
  UniqueFd a, b;
  SocketPair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

void forEachBackend(const std::function<void(Backend)>& body) {
  for (Backend backend : {Backend::kIoUring, Backend::kEpoll}) {
    CAPTURE(udp::reactor::backendName(backend));
    body(backend);
  }
}

TEST_CASE("recv completes when data arrives, never inside the call that submitted it") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    CHECK(reactor->backend() == backend);
    SocketPair pair;
    REQUIRE(write(pair.b.get(), "hi", 2) == 2);  // ready before the submission
    char buf[16] = {};
    Recorder rec;
    reactor->recv(rec.op, pair.a.get(), buf, sizeof buf);
    CHECK(rec.op.pending());
    CHECK(rec.calls == 0);
    REQUIRE(runUntil(*reactor, [&] { return rec.calls > 0; }));
    CHECK(rec.res == 2);
    CHECK(std::string(buf, 2) == "hi");
    CHECK_FALSE(rec.op.pending());

    // Not ready yet: it waits, then completes once the peer writes.
    reactor->recv(rec.op, pair.a.get(), buf, sizeof buf);
    reactor->runOnce(20ms);
    CHECK(rec.calls == 1);
    REQUIRE(write(pair.b.get(), "abc", 3) == 3);
    REQUIRE(runUntil(*reactor, [&] { return rec.calls > 1; }));
    CHECK(rec.res == 3);

    // The peer goes away: end of stream.
    reactor->recv(rec.op, pair.a.get(), buf, sizeof buf);
    pair.b.reset();
    REQUIRE(runUntil(*reactor, [&] { return rec.calls > 2; }));
    CHECK(rec.res == 0);
  });
}

TEST_CASE("send and recv pending on one socket at once both complete") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    SocketPair pair;
    // Fill the send buffer so that the send must wait for the peer to read.
    std::string big(1 << 16, 'x');
    while (::send(pair.a.get(), big.data(), big.size(), MSG_DONTWAIT) > 0) {
    }
    char in[8];
    Recorder receiving, sending;
    reactor->recv(receiving.op, pair.a.get(), in, sizeof in);
    reactor->send(sending.op, pair.a.get(), "ping", 4);
    reactor->runOnce(20ms);
    CHECK(receiving.calls == 0);
    CHECK(sending.calls == 0);
    REQUIRE(write(pair.b.get(), "pong", 4) == 4);
    REQUIRE(runUntil(*reactor, [&] { return receiving.calls > 0; }));
    CHECK(receiving.res == 4);
    CHECK(sending.calls == 0);
    std::string drain(1 << 20, '\0');
    while (::recv(pair.b.get(), drain.data(), drain.size(), MSG_DONTWAIT) > 0) {
    }
    REQUIRE(runUntil(*reactor, [&] { return sending.calls > 0; }));
    CHECK(sending.res == 4);
  });
}

TEST_CASE("accept and connect over a unix socket; connect to nothing fails") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    udp::testing::TempDir dir;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = dir.file("s.sock");
    strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(listener.get(), 8) == 0);

    Recorder accepting, connecting;
    reactor->accept(accepting.op, listener.get());
    reactor->runOnce(10ms);
    CHECK(accepting.calls == 0);
    UniqueFd client(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    reactor->connect(connecting.op, client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    REQUIRE(runUntil(*reactor, [&] { return accepting.calls > 0 && connecting.calls > 0; }));
    CHECK(connecting.res == 0);
    REQUIRE(accepting.res >= 0);
    UniqueFd accepted(accepting.res);
    CHECK((fcntl(accepted.get(), F_GETFL) & O_NONBLOCK) != 0);

    sockaddr_un nowhere = addr;
    strncpy(nowhere.sun_path, dir.file("none.sock").c_str(), sizeof nowhere.sun_path - 1);
    UniqueFd lost(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    reactor->connect(connecting.op, lost.get(), reinterpret_cast<sockaddr*>(&nowhere),
                     sizeof nowhere);
    REQUIRE(runUntil(*reactor, [&] { return connecting.calls > 1; }));
    CHECK(connecting.res == -ENOENT);
  });
}

TEST_CASE("timeouts fire with -ETIME, not before their time; cancelled ones do not fire") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    Recorder fires, cancelled;
    auto start = std::chrono::steady_clock::now();
    reactor->timeout(fires.op, 30ms);
    reactor->timeout(cancelled.op, 10ms);
    reactor->cancel(cancelled.op);
    REQUIRE(runUntil(*reactor, [&] { return fires.calls > 0; }));
    CHECK(fires.res == -ETIME);
    CHECK(std::chrono::steady_clock::now() - start >= 30ms);
    CHECK(cancelled.calls == 1);
    CHECK(cancelled.res == -ECANCELED);

    // Cancelled while waiting, then re-armed: only the second arming fires.
    reactor->timeout(fires.op, 1h);
    reactor->runOnce(5ms);
    reactor->cancel(fires.op);
    REQUIRE(runUntil(*reactor, [&] { return fires.calls > 1; }));
    CHECK(fires.res == -ECANCELED);
    reactor->timeout(fires.op, 1ms);
    REQUIRE(runUntil(*reactor, [&] { return fires.calls > 2; }));
    CHECK(fires.res == -ETIME);
  });
}

TEST_CASE("a cancelled recv completes with -ECANCELED and its op can be used again") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    SocketPair pair;
    char buf[8];
    Recorder rec;
    reactor->recv(rec.op, pair.a.get(), buf, sizeof buf);
    reactor->runOnce(5ms);
    reactor->cancel(rec.op);
    CHECK(rec.calls == 0);  // the completion comes from the loop, not from cancel()
    REQUIRE(runUntil(*reactor, [&] { return rec.calls > 0; }));
    CHECK(rec.res == -ECANCELED);
    reactor->recv(rec.op, pair.a.get(), buf, sizeof buf);
    REQUIRE(write(pair.b.get(), "z", 1) == 1);
    REQUIRE(runUntil(*reactor, [&] { return rec.calls > 1; }));
    CHECK(rec.res == 1);
  });
}

TEST_CASE("poll reports the events; read and write work on pipes and regular files") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);  // blocking, as stdin often is
    UniqueFd readEnd(p[0]), writeEnd(p[1]);
    Recorder polled, reading;
    reactor->poll(polled.op, readEnd.get(), POLLIN);
    reactor->runOnce(10ms);
    CHECK(polled.calls == 0);
    REQUIRE(write(writeEnd.get(), "line\n", 5) == 5);
    REQUIRE(runUntil(*reactor, [&] { return polled.calls > 0; }));
    CHECK((polled.res & POLLIN) != 0);
    char buf[16];
    reactor->read(reading.op, readEnd.get(), buf, sizeof buf);
    REQUIRE(runUntil(*reactor, [&] { return reading.calls > 0; }));
    CHECK(reading.res == 5);

    // A read on an empty blocking pipe must not stall the loop: timers still fire.
    Recorder timer;
    reactor->read(reading.op, readEnd.get(), buf, sizeof buf);
    reactor->timeout(timer.op, 5ms);
    REQUIRE(runUntil(*reactor, [&] { return timer.calls > 0; }));
    CHECK(reading.calls == 1);
    writeEnd.reset();
    REQUIRE(runUntil(*reactor, [&] { return reading.calls > 1; }));
    CHECK(reading.res == 0);

    udp::testing::TempDir dir;
    std::string path = dir.file("log");
    UniqueFd file(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    Recorder writing;
    reactor->write(writing.op, file.get(), "one\n", 4, Reactor::kAtFilePosition);
    REQUIRE(runUntil(*reactor, [&] { return writing.calls > 0; }));
    CHECK(writing.res == 4);
    reactor->write(writing.op, file.get(), "two\n", 4, Reactor::kAtFilePosition);
    REQUIRE(runUntil(*reactor, [&] { return writing.calls > 1; }));
    UniqueFd back(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    reactor->read(reading.op, back.get(), buf, sizeof buf);
    REQUIRE(runUntil(*reactor, [&] { return reading.calls > 2; }));
    CHECK(std::string(buf, reading.res > 0 ? reading.res : 0) == "one\ntwo\n");
  });
}

TEST_CASE("turn-end hooks run after each batch, in order") {
  forEachBackend([](Backend backend) {
    auto reactor = make(backend);
    std::string trace;
    Recorder timer;
    reactor->addTurnEndHook([&] { trace += timer.calls > 0 ? "A" : "a"; });
    reactor->addTurnEndHook([&] { trace += timer.calls > 0 ? "B" : "b"; });
    reactor->timeout(timer.op, 1ms);
    REQUIRE(runUntil(*reactor, [&] { return timer.calls > 0; }));
    CHECK(trace.ends_with("AB"));
    CHECK(reactor->turns() * 2 == trace.size());
  });
}

TEST_CASE("backend names parse back") {
  for (Backend b : {Backend::kAuto, Backend::kIoUring, Backend::kEpoll}) {
    CHECK(udp::reactor::parseBackend(udp::reactor::backendName(b)) == b);
  }
  CHECK_FALSE(udp::reactor::parseBackend("kqueue").has_value());
}

}  // namespace
