// What one peer can make a server connection hold or wait for (issue 12, defects 7 and 9): no
// request in time, too many streams, request bytes beyond the receive window, and how the
// connection ends (trailers, then GOAWAY, then the socket closes; GOAWAY before closing on a
// protocol error).

#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "grpc/framing.h"
#include "grpc/server_connection.h"
#include "grpc_test_peer.h"

using namespace udp;
using namespace udp::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Steps server and client until `done` or `timeout`; returns done().
template <typename Done>
bool stepUntil(Fixture& f, Done done, std::chrono::milliseconds timeout = 3s) {
  auto deadline = Clock::now() + timeout;
  while (!done() && Clock::now() < deadline) {
    f.reactor->runOnce(2ms);
    f.server->sweep();
    if (!f.server->finished()) f.client->pump();
  }
  if (!done()) f.client->pump();
  return done();
}

// A 5-byte gRPC message header announcing `size` bytes.
std::string messageHeader(uint32_t size) {
  return {'\0', static_cast<char>(size >> 24), static_cast<char>(size >> 16),
          static_cast<char>(size >> 8), static_cast<char>(size)};
}

}  // namespace

TEST_CASE("a peer that sends no request in time is closed; one that did is kept") {
  grpc::ServerLimits limits;
  limits.requestTimeout = 100ms;
  SUBCASE("preface and SETTINGS only") {
    Fixture f(limits);
    f.client->pump();
    CHECK(stepUntil(f, [&] { return f.server->finished(); }));
    CHECK(f.server->timedOut());
    f.client->pump();
    CHECK(f.client->eof);
  }
  SUBCASE("a request in time") {
    Fixture f(limits);
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("a"))).body == framed("a"));
    auto until = Clock::now() + 300ms;  // three times the timeout
    stepUntil(
        f, [&] { return Clock::now() >= until || f.server->finished(); }, 1s);
    CHECK_FALSE(f.server->finished());
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("b"))).body == framed("b"));
  }
}

TEST_CASE("streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (16) are refused") {
  Fixture f;
  // All go out before the client has read our SETTINGS, as a hostile client would send them.
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(f.client->request(grpcHeaders("/t.S/Watch"), framed(""), false));
  }
  f.client->pump(false);
  auto settled = [&] {
    for (int32_t id : ids) {
      auto& r = f.client->streams[id];
      if (!r.closed && r.headers.count(":status") == 0) return false;
    }
    return true;
  };
  REQUIRE(stepUntil(f, settled));
  int open = 0, refused = 0;
  for (int32_t id : ids) {
    auto& r = f.client->streams[id];
    open += !r.closed && r.headers[":status"] == "200";
    refused += r.closed && r.errorCode == NGHTTP2_REFUSED_STREAM;
  }
  CHECK(open == 16);
  CHECK(refused == 4);
}

TEST_CASE("request bytes are flow-controlled: a peer cannot make us hold more than one message") {
  Fixture f;  // 4 MiB messages: a receive window of 4 MiB + 5 per stream and per connection
  constexpr size_t kWindow = grpc::kDefaultMaxMessageSize + 5;
  // Six calls, each announcing a whole 4 MiB message and sending 3 MiB of it: 18 MiB offered.
  std::vector<int32_t> ids;
  for (int i = 0; i < 6; ++i) {
    std::string body = messageHeader(grpc::kDefaultMaxMessageSize) + std::string(3 << 20, 'x');
    ids.push_back(f.client->request(grpcHeaders("/t.S/Echo"), std::move(body), false));
  }
  size_t most = 0;
  size_t sentBefore = 0;
  int stalled = 0;
  for (int step = 0; step < 2000 && stalled < 20; ++step) {
    f.client->pump();
    f.reactor->runOnce(1ms);
    most = std::max(most, f.server->bufferedRequestBytes());
    stalled = f.client->bodyBytesSent == sentBefore ? stalled + 1 : 0;
    sentBefore = f.client->bodyBytesSent;
  }
  MESSAGE("client sent " << f.client->bodyBytesSent << " body bytes; server held at most " << most);
  CHECK(stalled >= 20);  // the client is blocked, not still sending
  CHECK(f.client->bodyBytesSent <= kWindow);
  CHECK(most <= kWindow);
  CHECK(most > (1u << 20));
  // Cancelling the calls gives their bytes and their window back: a new call goes through.
  for (int32_t id : ids) nghttp2_submit_rst_stream(f.client->session_, 0, id, NGHTTP2_CANCEL);
  f.client->pump();
  CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("ok"))).body == framed("ko"));
  CHECK(f.server->bufferedRequestBytes() == 0);
}

TEST_CASE("the rest of a request already answered is dropped, not held") {
  Fixture f;
  // Over the 4 MiB limit, known from the header: answered at once; the 2 MiB that follow are
  // read and thrown away, and the window keeps moving.
  std::string body = messageHeader(grpc::kDefaultMaxMessageSize + 1) + std::string(2 << 20, 'x');
  int32_t id = f.client->request(grpcHeaders("/t.S/Echo"), std::move(body));
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "8");
  CHECK(stepUntil(f, [&] { return f.client->bodyBytesSent == (2u << 20) + 5; }));
  CHECK(f.server->bufferedRequestBytes() == 0);
}

TEST_CASE("closeGracefully: every stream's trailers, then GOAWAY, then our side closes") {
  Fixture f;
  std::vector<int32_t> ids;
  for (int i = 0; i < 3; ++i) {
    int32_t id = f.client->request(grpcHeaders("/t.S/Watch"), framed(""));
    REQUIRE(stepUntil(f, [&] { return f.client->streams[id].headers.count(":status") > 0; }));
    ids.push_back(id);
  }
  // A large message still on its way: the trailers must wait for it, GOAWAY for them.
  REQUIRE(f.service.open->writeShared(std::make_shared<const std::string>(1 << 20, 'm'), false));
  f.server->closeGracefully();
  CHECK(stepUntil(f, [&] { return f.client->eof; }));
  for (int32_t id : ids) {
    CAPTURE(id);
    CHECK(f.client->streams[id].closed);
    CHECK(f.client->streams[id].errorCode == 0);
    CHECK(f.client->streams[id].headers["grpc-status"] == "0");
  }
  REQUIRE(f.client->goaway.has_value());
  CHECK(*f.client->goaway == NGHTTP2_NO_ERROR);
  CHECK(f.client->closedBeforeGoaway == ids.size());
  // Our side is shut, the socket stays open for what the peer still writes (no EPIPE for it)
  // until it closes too.
  CHECK_FALSE(f.server->finished());
  CHECK(write(f.clientFd, "late", 4) == 4);
  shutdown(f.clientFd, SHUT_WR);
  CHECK(stepUntil(f, [&] { return f.server->finished(); }));
}

// The frames a peer read from `fd` until EOF or `timeout` (type, and GOAWAY's error code).
struct RawFrames {
  std::vector<uint8_t> types;
  std::optional<uint32_t> goaway;
  bool eof = false;
};

RawFrames readFramesUntilEof(Fixture& f, std::chrono::milliseconds timeout = 3s) {
  RawFrames out;
  std::string bytes;
  auto deadline = Clock::now() + timeout;
  while (!out.eof && Clock::now() < deadline) {
    f.reactor->runOnce(2ms);
    f.server->sweep();
    char buf[4096];
    ssize_t n;
    while ((n = read(f.clientFd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
    out.eof = n == 0;
  }
  auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  for (size_t at = 0; at + 9 <= bytes.size();) {
    size_t length = byte(at) << 16 | byte(at + 1) << 8 | byte(at + 2);
    if (at + 9 + length > bytes.size()) break;
    out.types.push_back(byte(at + 3));
    if (byte(at + 3) == NGHTTP2_GOAWAY && length >= 8) {
      size_t code = at + 9 + 4;
      out.goaway =
          uint32_t{byte(code)} << 24 | byte(code + 1) << 16 | byte(code + 2) << 8 | byte(code + 3);
    }
    at += 9 + length;
  }
  return out;
}

TEST_CASE("an HTTP/2 protocol error: GOAWAY(PROTOCOL_ERROR) reaches the peer, then it closes") {
  Fixture f;
  SUBCASE("not the HTTP/2 preface (nghttp2 gives up: our own error path)") {
    std::string http1 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(write(f.clientFd, http1.data(), http1.size()) == static_cast<ssize_t>(http1.size()));
  }
  SUBCASE("DATA on stream 0 (a connection error nghttp2 answers itself)") {
    f.client->pump();
    const char badFrame[9] = {0, 0, 0, NGHTTP2_DATA, 0, 0, 0, 0, 0};
    REQUIRE(write(f.clientFd, badFrame, sizeof badFrame) == sizeof badFrame);
  }
  RawFrames frames = readFramesUntilEof(f);
  CHECK(frames.eof);
  REQUIRE(frames.goaway.has_value());
  CHECK(*frames.goaway == NGHTTP2_PROTOCOL_ERROR);
  CHECK(frames.types.back() == NGHTTP2_GOAWAY);
  shutdown(f.clientFd, SHUT_WR);
  CHECK(stepUntil(f, [&] { return f.server->finished(); }));
}
