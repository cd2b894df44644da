// grpc::Server on a real unix socket: calls routed through it, and what it does with more
// connections than it serves and with connections that never send a request.

#include "grpc/server.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../http2/grpc_test_peer.h"
#include "grpc/framing.h"

using namespace udp;
using namespace udp::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int connectTo(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// What a raw peer has seen so far: bytes from the server, and whether it closed.
struct Peer {
  int fd;
  size_t bytes = 0;
  bool eof = false;
  void read() {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes += static_cast<size_t>(n);
    if (n == 0) eof = true;
  }
};

struct ServerFixture {
  std::string dir;
  std::unique_ptr<reactor::Reactor> reactor;
  TestService service;
  std::unique_ptr<grpc::Server> server;
  std::vector<int> fds;

  explicit ServerFixture(grpc::ServerLimits limits = {}) {
    char tmpl[] = "/tmp/grpc-server-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    // kAuto: epoll where io_uring is refused (qemu-user in the arm64 cross run), so this area
    // still runs there.
    auto r = reactor::Reactor::create(reactor::Backend::kAuto, 64);
    REQUIRE(r.ok());
    reactor = std::move(*r);
    server = std::make_unique<grpc::Server>(*reactor, service, limits);
    REQUIRE(server->listen(dir + "/plugin.sock").ok());
  }
  ~ServerFixture() {
    for (int fd : fds) ::close(fd);
    server->stopListening();
    for (int i = 0; i < 50 && (server->connectionCount() > 0); ++i) step();
    server.reset();
    std::filesystem::remove_all(dir);
  }

  int connect() {
    fds.push_back(connectTo(dir + "/plugin.sock"));
    return fds.back();
  }
  void step() {
    reactor->runOnce(2ms);
    server->sweep();
  }
  template <typename Done>
  bool stepUntil(Done done, std::chrono::milliseconds timeout = 3s) {
    auto deadline = Clock::now() + timeout;
    while (!done() && Clock::now() < deadline) step();
    return done();
  }
};

}  // namespace

TEST_CASE("calls through the server: unary, unknown method, a stream the service ends") {
  ServerFixture f;
  RawClient client(f.connect());
  auto finish = [&](int32_t id) -> Response& {
    REQUIRE(f.stepUntil([&] {
      client.pump();
      return client.streams[id].closed;
    }));
    return client.streams[id];
  };
  SUBCASE("unary") {
    Response& r = finish(client.request(grpcHeaders("/t.S/Echo"), framed("abc")));
    CHECK(r.headers["grpc-status"] == "0");
    CHECK(r.body == framed("cba"));
  }
  SUBCASE("unknown method: UNIMPLEMENTED, trailers only") {
    Response& r = finish(client.request(grpcHeaders("/t.S/Missing"), framed("")));
    CHECK(r.headers[":status"] == "200");
    CHECK(r.headers["grpc-status"] == "12");
    CHECK(r.body.empty());
  }
  SUBCASE("a stream the service ends with a status") {
    int32_t id = client.request(grpcHeaders("/t.S/Watch"), framed(""));
    REQUIRE(f.stepUntil([&] {
      client.pump();
      return f.service.open != nullptr;
    }));
    f.service.open->finish({grpc::StatusCode::kUnavailable, "going"});
    Response& r = finish(id);
    CHECK(r.headers["grpc-status"] == "14");
    CHECK(r.headers["grpc-message"] == "going");
    CHECK(f.service.open == nullptr);  // streamClosed told the service
  }
  CHECK(f.server->connectionCount() == 1);
}

TEST_CASE("connections beyond maxConnections are accepted and closed at once") {
  grpc::ServerLimits limits;
  limits.maxConnections = 2;
  ServerFixture f(limits);
  std::vector<Peer> peers;
  for (int i = 0; i < 4; ++i) peers.push_back({f.connect()});
  auto settled = [&] {
    for (Peer& p : peers) p.read();
    return peers[0].bytes > 0 && peers[1].bytes > 0 && peers[2].eof && peers[3].eof;
  };
  REQUIRE(f.stepUntil(settled));
  CHECK_FALSE(peers[0].eof);
  CHECK_FALSE(peers[1].eof);
  CHECK(peers[2].bytes == 0);  // not even SETTINGS: never served
  CHECK(f.server->connectionCount() == 2);
  CHECK(f.server->rejectedConnections() == 2);

  // A served connection goes; a new one takes its place.
  ::close(peers[0].fd);
  f.fds.erase(f.fds.begin());
  REQUIRE(f.stepUntil([&] { return f.server->connectionCount() == 1; }));
  Peer fresh{f.connect()};
  REQUIRE(f.stepUntil([&] {
    fresh.read();
    return fresh.bytes > 0 || fresh.eof;
  }));
  CHECK_FALSE(fresh.eof);
  CHECK(f.server->rejectedConnections() == 2);
}

TEST_CASE("a connection that sends no request within requestTimeout is closed and counted") {
  grpc::ServerLimits limits;
  limits.requestTimeout = 100ms;
  ServerFixture f(limits);
  Peer silent{f.connect()};
  RawClient caller(f.connect());
  int32_t id = caller.request(grpcHeaders("/t.S/Echo"), framed("x"));
  REQUIRE(f.stepUntil([&] {
    silent.read();
    caller.pump();
    return silent.eof && caller.streams[id].closed;
  }));
  REQUIRE(f.stepUntil([&] { return f.server->connectionCount() == 1; }));
  CHECK(f.server->timedOutConnections() == 1);
  CHECK(caller.streams[id].headers["grpc-status"] == "0");
}
