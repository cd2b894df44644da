#pragma once

// One accepted connection of a gRPC server: HTTP/2 streams become calls on a Service
// (DESIGN.md §3: request validation, framing, trailers, errors).

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "grpc/framing.h"
#include "grpc/service.h"
#include "http2/connection.h"

namespace udp::grpc {

// What one peer may make a server hold (DESIGN.md §4: a bounded receive side as well as send).
struct ServerLimits {
  size_t maxConnections = 64;  // per Server; more are accepted and closed at once
  uint32_t maxConcurrentStreams = 16;
  // Request messages larger are refused; request bytes held per connection are bounded by one
  // such message (the HTTP/2 receive window) however many streams carry them.
  uint32_t maxMessageSize = kDefaultMaxMessageSize;
  // A connection without one complete request header block by then is closed.
  std::chrono::milliseconds requestTimeout{5000};
  // How long a closing connection may take to deliver its trailers and GOAWAY.
  std::chrono::milliseconds drainTimeout{5000};
};

class ServerConnection final : private http2::ConnectionListener {
 public:
  ServerConnection(reactor::Reactor& reactor, UniqueFd fd, Service& service,
                   const ServerLimits& limits = {}, reactor::OpScope* parent = nullptr);
  ~ServerConnection() override;

  void start() { http2_.start(); }
  // Ends open streams with OK and waiting deferred calls with UNAVAILABLE, then closes.
  void closeGracefully();
  // Frees calls whose streams closed; called by the owner at the end of a reactor turn.
  void sweep();
  bool finished() const { return http2_.finished() && scope_.idle(); }
  // Closed for sending no complete request within ServerLimits::requestTimeout.
  bool timedOut() const { return http2_.timedOut(); }
  // Request bytes received and not yet handled (held against the receive window).
  size_t bufferedRequestBytes() const { return http2_.unconsumedBytes(); }

 private:
  class Call;

  void onHeader(int32_t stream, http2::HeaderBlock block, std::string_view name,
                std::string_view value) override;
  void onHeadersDone(int32_t stream, http2::HeaderBlock block, bool endStream) override;
  void onData(int32_t stream, std::string_view bytes) override;
  void onRemoteEnd(int32_t stream) override;
  void onStreamClosed(int32_t stream, uint32_t errorCode) override;
  void onConnectionClosed() override;

  Call* findCall(int32_t stream);
  void dispatch(Call& call);
  void dispatchDeferred(Call& call, const CallContext& context);
  // The service's answer to a deferred unary call that still waits.
  void answerDeferred(Call& call, const Status& status, std::string_view response);
  // Forgets the call's deferred state (the service is told it went away) and its deadline.
  void detachDeferred(Call& call);
  void respondUnary(Call& call, const Status& status, std::string_view response);
  void respondStatus(Call& call, const Status& status);
  void respondHttpError(Call& call, int httpStatus);
  void retire(int32_t stream);
  // The call needs no more of its request bytes: the peer may send more.
  void release(Call& call);

  reactor::Reactor& reactor_;
  Service& service_;
  uint32_t maxMessageSize_;
  // Counts the HTTP/2 connection's ops and the deadline timers of deferred calls; declared before
  // everything that holds them.
  reactor::OpScope scope_;
  http2::Connection http2_;
  std::unordered_map<int32_t, std::unique_ptr<Call>> calls_;
  // Calls whose stream closed inside an nghttp2 callback; freed in sweep(), never while a
  // method of theirs may still be on the stack, nor while their deadline timer is in flight.
  std::vector<std::unique_ptr<Call>> retired_;
};

}  // namespace udp::grpc
