// Deferred unary calls (MethodKind::kDeferredUnary): the service answers later through a
// UnaryResponder; the call going away first (reset by the peer, its connection closed, its
// grpc-timeout run out, the server closing) tells the service, and a late answer does nothing.
// Driven by nghttp2's client role over a socketpair, on both reactor backends.

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../http2/grpc_test_peer.h"

using namespace udp;
using namespace udp::testing;

namespace {

// "/t.D/Later" waits for the test to answer; "/t.D/Now" answers inside startUnary.
class DeferredService final : public grpc::Service {
 public:
  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override {
    if (path == "/t.D/Later" || path == "/t.D/Now") return grpc::MethodKind::kDeferredUnary;
    return std::nullopt;
  }
  grpc::Status handleUnary(const grpc::CallContext&, std::string_view, std::string&) override {
    return {grpc::StatusCode::kInternal, "deferred methods never come here"};
  }
  void startUnary(const grpc::CallContext& call, std::string_view request,
                  grpc::UnaryResponder responder) override {
    lastTimeout = call.timeout;
    if (call.path == "/t.D/Now") {
      responder.finish(grpc::Status::Ok(), "now:" + std::string(request));
      return;
    }
    responder.onCancel([this] { ++cancelled; });
    waiting.push_back({std::string(request), responder});
  }
  grpc::Status openStream(const grpc::CallContext&, std::string_view,
                          grpc::ServerStream&) override {
    return {grpc::StatusCode::kUnimplemented, ""};
  }
  void streamClosed(grpc::ServerStream&) override {}

  struct Waiting {
    std::string request;
    grpc::UnaryResponder responder;
  };
  std::vector<Waiting> waiting;
  int cancelled = 0;
  std::optional<std::chrono::nanoseconds> lastTimeout;
};

reactor::Backend backendUnderTest() {
  reactor::Backend backend = reactor::Backend::kIoUring;
  SUBCASE("io_uring") {
    backend = reactor::Backend::kIoUring;
  }
  SUBCASE("epoll") {
    backend = reactor::Backend::kEpoll;
  }
  return backend;
}

struct DeferredFixture {
  std::unique_ptr<reactor::Reactor> reactor;
  DeferredService service;
  std::unique_ptr<grpc::ServerConnection> server;
  std::unique_ptr<RawClient> client;
  int clientFd = -1;

  explicit DeferredFixture(reactor::Backend backend) {
    auto r = reactor::Reactor::create(backend, 64);
    if (!r.ok() && backend == reactor::Backend::kIoUring) {
      r = reactor::Reactor::create(reactor::Backend::kAuto, 64);  // io_uring refused here
    }
    REQUIRE(r.ok());
    reactor = std::move(*r);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    clientFd = fds[1];
    server = std::make_unique<grpc::ServerConnection>(*reactor, UniqueFd(fds[0]), service);
    server->start();
    client = std::make_unique<RawClient>(clientFd);
  }
  ~DeferredFixture() {
    client.reset();
    if (clientFd >= 0) close(clientFd);
    for (int i = 0; i < 50 && !server->finished(); ++i) step();
    CHECK(reactor->drain(std::chrono::seconds(2)));
    server->sweep();
  }

  void step() {
    reactor->runOnce(5ms);
    server->sweep();
    if (client) client->pump();
  }
  template <typename Done>
  bool stepUntil(Done done, int turns = 400) {
    for (int i = 0; i < turns && !done(); ++i) step();
    return done();
  }
  int32_t call(const std::string& path, const std::string& body,
               std::optional<std::string> timeout = std::nullopt) {
    auto headers = grpcHeaders(path);
    if (timeout) headers.push_back({"grpc-timeout", *timeout});
    return client->request(headers, framed(body));
  }
  bool closed(int32_t id) { return client->streams[id].closed; }
};

}  // namespace

TEST_CASE("deferred unary: answered later, answered at once, answered with an error") {
  DeferredFixture f(backendUnderTest());
  int32_t later = f.call("/t.D/Later", "abc");
  REQUIRE(f.stepUntil([&] { return f.service.waiting.size() == 1; }));
  CHECK(f.service.waiting[0].request == "abc");
  CHECK_FALSE(f.service.lastTimeout.has_value());
  // Nothing is answered while the service holds the call, however long the loop turns.
  for (int i = 0; i < 10; ++i) f.step();
  CHECK_FALSE(f.closed(later));

  int32_t now = f.call("/t.D/Now", "xyz");
  REQUIRE(f.stepUntil([&] { return f.closed(now); }));
  CHECK(f.client->streams[now].headers["grpc-status"] == "0");
  CHECK(f.client->streams[now].body == framed("now:xyz"));

  grpc::UnaryResponder responder = f.service.waiting[0].responder;
  CHECK(responder.waiting());
  responder.finish(grpc::Status::Ok(), "done");
  CHECK_FALSE(responder.waiting());
  responder.finish({grpc::StatusCode::kInternal, "a second answer is ignored"});
  REQUIRE(f.stepUntil([&] { return f.closed(later); }));
  CHECK(f.client->streams[later].headers["grpc-status"] == "0");
  CHECK(f.client->streams[later].body == framed("done"));

  int32_t failing = f.call("/t.D/Later", "e");
  REQUIRE(f.stepUntil([&] { return f.service.waiting.size() == 2; }));
  f.service.waiting[1].responder.finish({grpc::StatusCode::kNotFound, "no such claim"});
  REQUIRE(f.stepUntil([&] { return f.closed(failing); }));
  CHECK(f.client->streams[failing].headers["grpc-status"] == "5");
  CHECK(f.client->streams[failing].headers["grpc-message"] == "no such claim");
  CHECK(f.client->streams[failing].body.empty());
  CHECK(f.service.cancelled == 0);
}

TEST_CASE(
    "deferred unary: the peer resets the call; the service is told, a late answer is a no-op") {
  DeferredFixture f(backendUnderTest());
  int32_t id = f.call("/t.D/Later", "abc");
  REQUIRE(f.stepUntil([&] { return f.service.waiting.size() == 1; }));
  nghttp2_submit_rst_stream(f.client->session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  f.client->pump();
  REQUIRE(f.stepUntil([&] { return f.service.cancelled == 1; }));
  CHECK_FALSE(f.service.waiting[0].responder.waiting());
  f.service.waiting[0].responder.finish(grpc::Status::Ok(), "late");
  // The connection still serves.
  int32_t next = f.call("/t.D/Now", "ok");
  REQUIRE(f.stepUntil([&] { return f.closed(next); }));
  CHECK(f.client->streams[next].body == framed("now:ok"));
  CHECK(f.service.cancelled == 1);
}

TEST_CASE("deferred unary: grpc-timeout runs out: DEADLINE_EXCEEDED, and the service is told") {
  DeferredFixture f(backendUnderTest());
  auto started = std::chrono::steady_clock::now();
  int32_t id = f.call("/t.D/Later", "abc", "50m");
  REQUIRE(f.stepUntil([&] { return f.closed(id); }));
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(50));
  REQUIRE(f.service.lastTimeout.has_value());
  CHECK(*f.service.lastTimeout == std::chrono::milliseconds(50));
  CHECK(f.client->streams[id].headers["grpc-status"] == "4");
  CHECK(f.service.cancelled == 1);
  REQUIRE(f.service.waiting.size() == 1);
  CHECK_FALSE(f.service.waiting[0].responder.waiting());
  f.service.waiting[0].responder.finish(grpc::Status::Ok(), "late");

  // Answered in time: the timer goes with the answer and never fires.
  int32_t quick = f.call("/t.D/Later", "q", "10S");
  REQUIRE(f.stepUntil([&] { return f.service.waiting.size() == 2; }));
  f.service.waiting[1].responder.finish(grpc::Status::Ok(), "in time");
  REQUIRE(f.stepUntil([&] { return f.closed(quick); }));
  CHECK(f.client->streams[quick].headers["grpc-status"] == "0");
  CHECK(f.service.cancelled == 1);
}

void checkAllCancelled(DeferredService& service) {
  for (auto& w : service.waiting) {
    CHECK_FALSE(w.responder.waiting());
    w.responder.finish(grpc::Status::Ok(), "late");
  }
}

TEST_CASE("deferred unary: the peer closes its connection with calls waiting") {
  DeferredFixture f(backendUnderTest());
  f.call("/t.D/Later", "a", "10S");
  f.call("/t.D/Later", "b");
  REQUIRE(f.stepUntil([&] { return f.service.waiting.size() == 2; }));
  f.client.reset();
  ::close(f.clientFd);
  f.clientFd = -1;
  REQUIRE(f.stepUntil([&] { return f.service.cancelled == 2; }));
  // The deadline timer's cancellation completes before the connection may be freed.
  REQUIRE(f.stepUntil([&] { return f.server->finished(); }));
  checkAllCancelled(f.service);
}

TEST_CASE("deferred unary: the server closes gracefully with calls waiting: UNAVAILABLE") {
  DeferredFixture f(backendUnderTest());
  int32_t a = f.call("/t.D/Later", "a", "10S");
  int32_t b = f.call("/t.D/Later", "b");
  REQUIRE(f.stepUntil([&] { return f.service.waiting.size() == 2; }));
  f.server->closeGracefully();
  CHECK(f.service.cancelled == 2);
  REQUIRE(f.stepUntil([&] { return f.closed(a) && f.closed(b); }));
  CHECK(f.client->streams[a].headers["grpc-status"] == "14");
  CHECK(f.client->streams[b].headers["grpc-status"] == "14");
  checkAllCancelled(f.service);
}
