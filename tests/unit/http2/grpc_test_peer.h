#pragma once

// Test peers for the gRPC server connection: a small service, and a minimal HTTP/2 client on
// nghttp2's client role (a real implementation, not ours) over a socketpair, stepped one reactor
// turn at a time.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpc/framing.h"
#include "grpc/server_connection.h"

namespace udp::testing {

using namespace std::chrono_literals;

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
  uint32_t errorCode = 0;  // of the stream's close: RST_STREAM's code, or 0
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
        cbs, [](nghttp2_session*, int32_t id, uint32_t code, void* u) {
          auto& stream = static_cast<RawClient*>(u)->streams[id];
          stream.closed = true;
          stream.errorCode = code;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          auto* self = static_cast<RawClient*>(u);
          if (f->hd.type == NGHTTP2_GOAWAY) {
            self->goaway = f->goaway.error_code;
            // Trailers that arrive after GOAWAY would show here as streams closing later.
            self->closedBeforeGoaway = 0;
            for (auto& [id, r] : self->streams) self->closedBeforeGoaway += r.closed;
          }
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

  int32_t request(std::vector<std::pair<std::string, std::string>> headers, std::string body,
                  bool pumpNow = true) {
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : headers) {
      nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    bodies_.push_back(std::move(body));
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    pendingBodies_[nextStreamId_] = &bodies_.back();
    provider.read_callback = [](nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
      auto* self = static_cast<RawClient*>(source->ptr);
      std::string* b = self->pendingBodies_[id];
      size_t n = std::min(length, b->size() - self->offsets_[id]);
      memcpy(buf, b->data() + self->offsets_[id], n);
      self->offsets_[id] += n;
      self->bodyBytesSent += n;
      if (self->offsets_[id] == b->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    int32_t id =
        nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), &provider, nullptr);
    REQUIRE(id == nextStreamId_);
    nextStreamId_ += 2;
    if (pumpNow) pump();
    return id;
  }

  // Writes what nghttp2 has queued while the socket takes it, reads what has arrived.
  void pump(bool read = true) {
    for (;;) {
      if (outbox_.empty()) {
        const uint8_t* data;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) break;
        outbox_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      ssize_t w = ::send(fd_, outbox_.data(), outbox_.size(), MSG_NOSIGNAL);
      if (w <= 0) break;  // full: the rest goes next time
      outbox_.erase(0, static_cast<size_t>(w));
    }
    if (!read) return;
    char buf[65536];
    ssize_t got;
    while ((got = ::read(fd_, buf, sizeof buf)) > 0) {
      nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(got));
    }
    if (got == 0) eof = true;
  }

  std::string outbox_;  // a frame the socket has not taken yet
  std::list<std::string> bodies_;
  std::map<int32_t, std::string*> pendingBodies_;
  std::map<int32_t, size_t> offsets_;
  int32_t nextStreamId_ = 1;
  std::map<int32_t, Response> streams;
  std::optional<uint32_t> goaway;  // GOAWAY's error code, once one arrived
  size_t closedBeforeGoaway = 0;
  size_t bodyBytesSent = 0;  // DATA payload handed to nghttp2 (the window let it go out)
  bool eof = false;          // the server closed the socket
  nghttp2_session* session_ = nullptr;
  int fd_;
};

struct Fixture {
  std::unique_ptr<reactor::Reactor> reactor;
  TestService service;
  std::unique_ptr<grpc::ServerConnection> server;
  std::unique_ptr<RawClient> client;
  int clientFd = -1;

  explicit Fixture(grpc::ServerLimits limits = {}) {
    auto r = reactor::Reactor::create(64);
    REQUIRE(r.ok());
    reactor = std::move(*r);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    clientFd = fds[1];
    server = std::make_unique<grpc::ServerConnection>(*reactor, UniqueFd(fds[0]), service, limits);
    server->start();
    client = std::make_unique<RawClient>(clientFd);
  }
  ~Fixture() {
    client.reset();
    close(clientFd);
    for (int i = 0; i < 10 && !server->finished(); ++i) reactor->runOnce(10ms);
    // Whatever is still in flight (the connection's timer) completes before the server goes.
    CHECK(reactor->drain(std::chrono::seconds(2)));
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

inline std::vector<std::pair<std::string, std::string>> grpcHeaders(
    std::string path, std::string authority = "localhost") {
  return {{":method", "POST"},       {":scheme", "http"}, {":path", path},
          {":authority", authority}, {"te", "trailers"},  {"content-type", "application/grpc"}};
}

inline std::string framed(std::string_view message) {
  std::string out;
  grpc::appendMessageFrame(out, message);
  return out;
}

// Starts a Watch call and steps until the service holds it open; returns its stream.
inline int32_t openWatch(Fixture& f) {
  int32_t id = f.client->request(grpcHeaders("/t.S/Watch"), framed(""));
  for (int i = 0; i < 20 && f.service.open == nullptr; ++i) {
    f.reactor->runOnce(5ms);
    f.client->pump();
  }
  REQUIRE(f.service.open != nullptr);
  return id;
}

}  // namespace udp::testing
