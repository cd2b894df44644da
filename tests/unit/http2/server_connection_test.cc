// Our gRPC server connection against nghttp2's client role over a socketpair: request checks,
// trailers, errors, and :authority forms, stepping our reactor one turn at a time.

#include "grpc/server_connection.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <memory>

#include "grpc/framing.h"

using namespace udp;
using namespace std::chrono_literals;

namespace {

// Echoes the request reversed; "/t.S/Fail" fails with a message that needs percent-encoding;
// "/t.S/Watch" streams three messages, each superseding the last.
class TestService final : public grpc::Service {
 public:
  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override {
    if (path == "/t.S/Echo" || path == "/t.S/Fail") return grpc::MethodKind::kUnary;
    if (path == "/t.S/Watch") return grpc::MethodKind::kServerStreaming;
    return std::nullopt;
  }
  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override {
    lastAuthority = call.authority;
    lastTimeout = call.timeout;
    if (call.path == "/t.S/Fail") return {grpc::StatusCode::kNotFound, "no\nsuch %thing"};
    response.assign(request.rbegin(), request.rend());
    return grpc::Status::Ok();
  }
  grpc::Status openStream(const grpc::CallContext&, std::string_view,
                          grpc::ServerStream& stream) override {
    stream.write("one", true);
    stream.write("two", true);
    stream.write("three", true);
    open = &stream;
    return grpc::Status::Ok();
  }
  void streamClosed(grpc::ServerStream& stream) override {
    if (open == &stream) open = nullptr;
  }
  std::string lastAuthority;
  std::optional<std::chrono::nanoseconds> lastTimeout;
  grpc::ServerStream* open = nullptr;
};

struct Response {
  std::map<std::string, std::string> headers;  // response headers and trailers together
  std::string body;
  bool closed = false;
};

// A minimal HTTP/2 client on nghttp2 (a real implementation, not ours).
class RawClient {
 public:
  explicit RawClient(int fd) : fd_(fd) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                const uint8_t* v, size_t vl, uint8_t, void* u) {
          static_cast<RawClient*>(u)
              ->streams[f->hd.stream_id]
              .headers[std::string(reinterpret_cast<const char*>(n), nl)] =
              std::string(reinterpret_cast<const char*>(v), vl);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* u) {
          static_cast<RawClient*>(u)->streams[id].body.append(reinterpret_cast<const char*>(d),
                                                              len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t, void* u) {
          static_cast<RawClient*>(u)->streams[id].closed = true;
          return 0;
        });
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_http_messaging(opt, 1);  // so we may send what a broken client sends
    nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawClient() { nghttp2_session_del(session_); }

  int32_t request(std::vector<std::pair<std::string, std::string>> headers, std::string body) {
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : headers) {
      nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    bodies_.push_back(std::move(body));
    nghttp2_data_provider provider{};
    provider.source.ptr = &bodies_.back();
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
      auto* b = static_cast<std::string*>(source->ptr);
      size_t n = std::min(length, b->size());
      memcpy(buf, b->data(), n);
      b->erase(0, n);
      if (b->empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    int32_t id =
        nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), &provider, nullptr);
    pump();
    return id;
  }

  // Writes what nghttp2 has queued, reads what has arrived.
  void pump() {
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      REQUIRE(write(fd_, data, static_cast<size_t>(n)) == n);
    }
    char buf[65536];
    ssize_t got;
    while ((got = read(fd_, buf, sizeof buf)) > 0) {
      nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(got));
    }
  }

  std::list<std::string> bodies_;
  std::map<int32_t, Response> streams;
  nghttp2_session* session_ = nullptr;
  int fd_;
};

struct Fixture {
  std::unique_ptr<reactor::Reactor> reactor;
  TestService service;
  std::unique_ptr<grpc::ServerConnection> server;
  std::unique_ptr<RawClient> client;
  int clientFd = -1;

  Fixture() {
    auto r = reactor::Reactor::create(64);
    REQUIRE(r.ok());
    reactor = std::move(*r);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    clientFd = fds[1];
    server = std::make_unique<grpc::ServerConnection>(*reactor, UniqueFd(fds[0]), service);
    server->start();
    client = std::make_unique<RawClient>(clientFd);
  }
  ~Fixture() {
    client.reset();
    close(clientFd);
    for (int i = 0; i < 10 && !server->finished(); ++i) reactor->runOnce(10ms);
  }

  // Steps both sides until the stream is closed on the client.
  Response& finish(int32_t id) {
    for (int i = 0; i < 200 && !client->streams[id].closed; ++i) {
      reactor->runOnce(5ms);
      server->sweep();
      client->pump();
    }
    REQUIRE(client->streams[id].closed);
    return client->streams[id];
  }
};

std::vector<std::pair<std::string, std::string>> grpcHeaders(std::string path,
                                                             std::string authority = "localhost") {
  return {{":method", "POST"},       {":scheme", "http"}, {":path", path},
          {":authority", authority}, {"te", "trailers"},  {"content-type", "application/grpc"}};
}

std::string framed(std::string_view message) {
  std::string out;
  grpc::appendMessageFrame(out, message);
  return out;
}

// Starts a Watch call and steps until the service holds it open; returns its stream.
int32_t openWatch(Fixture& f) {
  int32_t id = f.client->request(grpcHeaders("/t.S/Watch"), framed(""));
  for (int i = 0; i < 20 && f.service.open == nullptr; ++i) {
    f.reactor->runOnce(5ms);
    f.client->pump();
  }
  REQUIRE(f.service.open != nullptr);
  return id;
}

}  // namespace

TEST_CASE("a unary call: headers, one message, trailers with grpc-status 0") {
  Fixture f;
  auto headers = grpcHeaders("/t.S/Echo");
  headers.push_back({"grpc-timeout", "30S"});
  Response& r = f.finish(f.client->request(headers, framed("abc")));
  CHECK(r.headers[":status"] == "200");
  CHECK(r.headers["content-type"] == "application/grpc");
  CHECK(r.headers["grpc-status"] == "0");
  CHECK(r.body == framed("cba"));
  CHECK(f.service.lastAuthority == "localhost");
  REQUIRE(f.service.lastTimeout.has_value());
  CHECK(*f.service.lastTimeout == std::chrono::seconds(30));
}

TEST_CASE(":authority may be a socket path (kubelets before 1.26)") {
  Fixture f;
  auto id = f.client->request(
      grpcHeaders("/t.S/Echo", "/var/lib/kubelet/device-plugins/kubelet.sock"), framed("xy"));
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "0");
  CHECK(r.body == framed("yx"));
  CHECK(f.service.lastAuthority == "/var/lib/kubelet/device-plugins/kubelet.sock");
}

TEST_CASE("errors: grpc-message is percent-encoded in a trailers-only answer") {
  Fixture f;
  Response& r = f.finish(f.client->request(grpcHeaders("/t.S/Fail"), framed("")));
  CHECK(r.headers[":status"] == "200");
  CHECK(r.headers["grpc-status"] == "5");
  CHECK(r.headers["grpc-message"] == "no%0Asuch %25thing");
  CHECK(r.body.empty());
}

TEST_CASE("request checks") {
  Fixture f;
  SUBCASE("non-gRPC content-type is HTTP 415") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers.back().second = "application/json";
    Response& r = f.finish(f.client->request(headers, "{}"));
    CHECK(r.headers[":status"] == "415");
  }
  SUBCASE("application/grpc+proto is gRPC") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers.back().second = "application/grpc+proto";
    CHECK(f.finish(f.client->request(headers, framed("a"))).headers["grpc-status"] == "0");
  }
  SUBCASE("GET is HTTP 405") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers[0].second = "GET";
    CHECK(f.finish(f.client->request(headers, "")).headers[":status"] == "405");
  }
  SUBCASE("unknown method is UNIMPLEMENTED") {
    Response& r = f.finish(f.client->request(grpcHeaders("/t.S/Nope"), framed("")));
    CHECK(r.headers["grpc-status"] == "12");
    CHECK(r.headers["grpc-message"].find("/t.S/Nope") != std::string::npos);
  }
  SUBCASE("a request ending inside a message is INTERNAL") {
    std::string bytes = framed("abcdef").substr(0, 7);
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), bytes)).headers["grpc-status"] ==
          "13");
  }
  SUBCASE("two messages on a unary call are INVALID_ARGUMENT") {
    Response& r = f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("a") + framed("b")));
    CHECK(r.headers["grpc-status"] == "3");
  }
  SUBCASE("no message at all is INVALID_ARGUMENT") {
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), "")).headers["grpc-status"] == "3");
  }
  SUBCASE("the compressed flag is UNIMPLEMENTED") {
    std::string bytes = framed("abc");
    bytes[0] = 1;
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), bytes)).headers["grpc-status"] ==
          "12");
  }
  SUBCASE("a message over 4 MiB is RESOURCE_EXHAUSTED, known from its header alone") {
    std::string header("\x00\x00\x40\x00\x01", 5);  // 4 MiB + 1
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), header)).headers["grpc-status"] ==
          "8");
  }
  SUBCASE("a malformed grpc-timeout is INTERNAL") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers.push_back({"grpc-timeout", "123456789S"});
    CHECK(f.finish(f.client->request(headers, framed("a"))).headers["grpc-status"] == "13");
  }
  // The connection still serves a good call after every one of these.
  CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("ok"))).body == framed("ko"));
}

TEST_CASE("a stream: superseded messages never queue up; finish sends trailers") {
  Fixture f;
  int32_t id = openWatch(f);
  f.service.open->finish(grpc::Status::Ok());
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "0");
  // Whatever nghttp2 had not taken yet was replaced: the last message always arrives, and
  // never after an older one.
  CHECK(r.body.size() >= framed("three").size());
  CHECK(r.body.substr(r.body.size() - framed("three").size()) == framed("three"));
}

TEST_CASE("a slow reader holds at most the message it is receiving and the newest one") {
  Fixture f;
  int32_t id = openWatch(f);
  // Each update is larger than what the reader takes between two of them, so one is always
  // partly sent when the next arrives. Bytes already sent must not stay queued behind it (they
  // did: 60 updates then held ~18 MB and hit the 16 MiB bound, which drops the connection).
  constexpr size_t kSize = 300 * 1024;
  std::vector<std::weak_ptr<const std::string>> written;
  for (int i = 0; i < 60; ++i) {
    auto message = std::make_shared<const std::string>(kSize, static_cast<char>('a' + i % 26));
    written.push_back(message);
    REQUIRE(f.service.open->writeShared(std::move(message), true));
    f.reactor->runOnce(1ms);
    f.client->pump();
    size_t alive =
        std::count_if(written.begin(), written.end(), [](const auto& w) { return !w.expired(); });
    CHECK(alive <= 2);
  }
  f.service.open->finish(grpc::Status::Ok());
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "0");
  std::vector<std::string> messages;
  grpc::FrameDecoder decoder(8 * kSize);
  REQUIRE(decoder.feed(r.body, messages) == grpc::DecodeStatus::kOk);
  CHECK_FALSE(decoder.hasPartialMessage());
  MESSAGE(messages.size() << " messages arrived of 3 + 60 written");
  REQUIRE(messages.size() >= 2);
  CHECK(messages.back() == std::string(kSize, static_cast<char>('a' + 59 % 26)));
  // Whole messages only: the three the stream opened with, then whole updates.
  for (const std::string& m : messages) CHECK((m.size() == kSize || m.size() <= 5));
  for (const auto& w : written) CHECK(w.expired());
}
