// A Transport between nghttp2 and the socket (what TLS plugs into): frames wait for its
// handshake, the wire carries what it makes of them, its failure is the connection's error, and
// GOAWAY reaches the listener. Both ends are our Connection over a socketpair with a toy
// transport: a one-byte hello each way standing in for a handshake, then every byte XORed.

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>

#include "http2/connection.h"

using namespace udp;
using namespace std::chrono_literals;

namespace {

constexpr char kKey = 0x5a;

class XorTransport final : public http2::Transport {
 public:
  explicit XorTransport(std::string& wireLog) : wireLog_(wireLog) {}
  Result<void> start() override {
    out_ += 'H';
    return {};
  }
  Result<void> receive(std::string_view wire, std::string& frames) override {
    for (char c : wire) {
      if (!ready_) {
        if (c != 'H') return makeError(-EPROTO, "toy handshake failed");
        ready_ = true;
        continue;
      }
      frames += static_cast<char>(c ^ kKey);
    }
    return {};
  }
  Result<void> send(std::string_view frames) override {
    for (char c : frames) out_ += static_cast<char>(c ^ kKey);
    return {};
  }
  void takeOutput(std::string& wire) override {
    wireLog_ += out_;
    wire += out_;
    out_.clear();
  }
  bool ready() const override { return ready_; }

 private:
  std::string& wireLog_;
  std::string out_;
  bool ready_ = false;
};

struct Recorder final : http2::ConnectionListener {
  std::map<std::string, std::string> headers;
  std::string data;
  int32_t requestStream = 0;
  bool ended = false, closed = false;
  int ready = 0, goAways = 0;
  void onHeader(int32_t, http2::HeaderBlock, std::string_view n, std::string_view v) override {
    headers[std::string(n)] = v;
  }
  void onHeadersDone(int32_t stream, http2::HeaderBlock block, bool) override {
    if (block == http2::HeaderBlock::kRequest) requestStream = stream;
  }
  void onData(int32_t, std::string_view bytes) override { data += bytes; }
  void onRemoteEnd(int32_t) override { ended = true; }
  void onStreamClosed(int32_t, uint32_t) override { ended = true; }
  void onConnectionClosed() override { closed = true; }
  void onTransportReady() override { ++ready; }
  void onGoAway(int32_t, uint32_t) override { ++goAways; }
};

struct Pair {
  std::unique_ptr<reactor::Reactor> reactor;
  UniqueFd a, b;
  Pair() {
    auto created = reactor::Reactor::create(reactor::Backend::kEpoll);
    REQUIRE(created.ok());
    reactor = std::move(*created);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  bool runUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) reactor->runOnce(10ms);
    return done();
  }
};

}  // namespace

TEST_CASE("frames cross the transport both ways, after its handshake") {
  Pair p;
  std::string clientWire, serverWire;
  Recorder client, server;
  http2::Connection c(*p.reactor, std::move(p.a), http2::Role::kClient, client);
  http2::Connection s(*p.reactor, std::move(p.b), http2::Role::kServer, server);
  c.setTransport(std::make_unique<XorTransport>(clientWire));
  s.setTransport(std::make_unique<XorTransport>(serverWire));
  // Submitted before the handshake: it waits in nghttp2.
  int32_t stream = c.submitRequest(
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/x"}, {":authority", "h"}}, false);
  REQUIRE(stream > 0);
  c.start();
  s.start();
  REQUIRE(p.runUntil([&] { return server.requestStream != 0; }));
  CHECK(client.ready == 1);
  CHECK(server.ready == 1);
  CHECK(server.headers[":path"] == "/x");
  REQUIRE(s.submitResponseHeaders(server.requestStream, {{":status", "200"}}));
  REQUIRE(s.queueData(server.requestStream, "hello"));
  REQUIRE(s.finishStream(server.requestStream, {}));
  REQUIRE(p.runUntil([&] { return client.ended; }));
  CHECK(client.headers[":status"] == "200");
  CHECK(client.data == "hello");
  // The hello first, and nothing of HTTP/2 in clear on the wire.
  CHECK(clientWire.front() == 'H');
  CHECK(clientWire.find("PRI * HTTP/2.0") == std::string::npos);
  CHECK(serverWire.find("hello") == std::string::npos);

  s.closeGracefully();
  REQUIRE(p.runUntil([&] { return client.goAways == 1; }));
  c.close();
  s.close();
  p.reactor->drain(1s);
}

TEST_CASE("a transport that fails closes the connection with its error") {
  Pair p;
  std::string wire;
  Recorder client;
  http2::Connection c(*p.reactor, std::move(p.a), http2::Role::kClient, client);
  c.setTransport(std::make_unique<XorTransport>(wire));
  c.start();
  REQUIRE(write(p.b.get(), "X", 1) == 1);
  REQUIRE(p.runUntil([&] { return client.closed; }));
  CHECK(c.error() == "toy handshake failed");
  CHECK(client.ready == 0);
  p.reactor->drain(1s);
}

TEST_CASE("a peer that closes: the reason is there too") {
  Pair p;
  Recorder client;
  http2::Connection c(*p.reactor, std::move(p.a), http2::Role::kClient, client);
  c.start();
  p.b.reset();
  REQUIRE(p.runUntil([&] { return client.closed; }));
  CHECK((c.error() == "closed by the peer" || c.error().find("send: ") == 0));
  p.reactor->drain(1s);
}
