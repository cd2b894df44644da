#pragma once

// One HTTP/1.1 connection of the metrics server on the reactor: keep-alive, pipelined requests
// answered in order, one recv and one send in flight, a bounded send buffer, an idle deadline.

#include <chrono>
#include <memory>
#include <string>

#include "metrics/http_request_parser.h"
#include "metrics/http_response.h"
#include "reactor/reactor.h"
#include "util/unique_fd.h"

namespace udp::metrics {

struct HttpLimits {
  size_t maxHeadBytes = HttpRequestParser::kDefaultMaxHeadBytes;
  size_t maxConnections = 64;
  // No request completed and no byte sent for this long: the connection is closed.
  std::chrono::milliseconds idleTimeout{60'000};
  // Once this much is queued for a peer, its further pipelined requests wait (unread) until the
  // peer reads: a client that never reads cannot grow our memory.
  size_t maxQueuedBytes = 256 * 1024;
  // After the last response of a closing connection we half-close and keep reading for this
  // long, so that unread request bytes do not turn our close into a RST that destroys the
  // response before the peer reads it.
  std::chrono::milliseconds lingerTimeout{2'000};
};

class HttpConnection {
 public:
  // `handler` and `limits` belong to the server, which outlives its connections.
  HttpConnection(reactor::Reactor& reactor, UniqueFd fd, const HttpHandler& handler,
                 const HttpLimits& limits);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();
  // The server is stopping: answer what has been read, then close; no new request is read.
  void closeAfterResponses();
  // Closes now; ops still in flight complete (cancelled) before finished() turns true.
  void close();

  bool closing() const { return closing_; }
  // Closed and no op in flight: the owner may free it (in its end-of-turn sweep).
  bool finished() const {
    return closing_ && !recvOp_.pending() && !sendOp_.pending() && !timerOp_.pending();
  }

 private:
  using Clock = std::chrono::steady_clock;

  void onRecv(int res, uint32_t flags) noexcept;
  void onSend(int res, uint32_t flags) noexcept;
  void onTimer(int res, uint32_t flags) noexcept;
  void armRecv();
  void armTimer();
  void processInput();
  void answer(const HttpRequest& request);
  void queue(const HttpResponse& response, const ResponseFraming& framing);
  void flush();
  void afterLastResponse();
  size_t queuedBytes() const { return out_.size() + sending_.size() - sendingOffset_; }

  reactor::Reactor& reactor_;
  UniqueFd fd_;
  const HttpHandler& handler_;
  const HttpLimits& limits_;
  HttpRequestParser parser_;

  std::string in_;  // received bytes the parser has not been fed yet (held back while queued)
  size_t inOffset_ = 0;
  std::string out_;  // responses waiting for the send in flight to finish

  reactor::Op recvOp_{reactor::bindOp<&HttpConnection::onRecv>(this)};
  reactor::Op sendOp_{reactor::bindOp<&HttpConnection::onSend>(this)};
  reactor::Op timerOp_{reactor::bindOp<&HttpConnection::onTimer>(this)};
  // Owned by the kernel while recvOp_ / sendOp_ is pending.
  std::unique_ptr<char[]> recvBuf_;
  std::string sending_;
  size_t sendingOffset_ = 0;

  Clock::time_point deadline_;   // idle, or linger once lingering_
  Clock::time_point timerAt_;    // when the pending timer fires
  bool closeAfterSend_ = false;  // no more requests: the last response is queued
  bool lingering_ = false;       // last response sent, write side shut, draining the peer
  bool peerDone_ = false;        // the peer sent EOF
  bool stopping_ = false;        // the server is stopping: no linger
  bool closing_ = false;
};

}  // namespace udp::metrics
