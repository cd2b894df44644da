#pragma once

// One unary gRPC call over its own connection to a unix socket: what Register needs (the kubelet
// is the server). Connect, request, response, trailers, all as completions on the reactor.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "grpc/framing.h"
#include "grpc/status.h"
#include "http2/connection.h"
#include "util/unix_socket.h"

namespace udp::grpc {

struct UnaryRequest {
  std::string socketPath;
  std::string method;  // "/v1beta1.Registration/Register"
  std::string authority = "localhost";
  std::string message;  // serialized request; over kDefaultMaxMessageSize: RESOURCE_EXHAUSTED
  // From start() to the answer, connect included. When it passes, done gets DEADLINE_EXCEEDED
  // and the connection is shut down, so the server sees the call cancelled rather than holding
  // it; the server is also told the time left in grpc-timeout, so it gives up no later than we.
  std::chrono::nanoseconds deadline = std::chrono::seconds(15);
};

class UnaryClient final : private http2::ConnectionListener {
 public:
  // Called exactly once, unless the client is destroyed first.
  using Done = std::function<void(const Status& status, const std::string& response)>;

  // `parent`: the owner's scope, which then counts this call's ops too.
  UnaryClient(reactor::Reactor& reactor, UnaryRequest request, Done done,
              reactor::OpScope* parent = nullptr);
  ~UnaryClient() override;
  UnaryClient(const UnaryClient&) = delete;
  UnaryClient& operator=(const UnaryClient&) = delete;

  void start();
  // Ends the call with CANCELLED (done runs) and closes the connection.
  void cancel();
  // Nothing in flight any more: the owner may free it (at the end of a reactor turn).
  bool finished() const;

 private:
  void onConnect(int res, uint32_t flags) noexcept;
  void onDeadline(int res, uint32_t flags) noexcept;
  void complete(const Status& status);

  void onHeader(int32_t stream, http2::HeaderBlock block, std::string_view name,
                std::string_view value) override;
  void onHeadersDone(int32_t stream, http2::HeaderBlock block, bool endStream) override;
  void onData(int32_t stream, std::string_view bytes) override;
  void onRemoteEnd(int32_t stream) override;
  void onStreamClosed(int32_t stream, uint32_t errorCode) override;
  void onConnectionClosed() override;

  reactor::Reactor& reactor_;
  UnaryRequest request_;
  Done done_;
  reactor::OpScope scope_;  // before connection_, which counts in it
  UnixAddress address_{};   // read by the kernel until connectOp_ completes
  UniqueFd socket_;         // until connected; then owned by connection_
  std::unique_ptr<http2::Connection> connection_;
  int32_t stream_ = -1;
  std::chrono::steady_clock::time_point started_{};

  FrameDecoder decoder_;
  std::vector<std::string> messages_;
  std::string httpStatus_, grpcStatus_, grpcMessage_;
  bool completed_ = false;

  reactor::Op connectOp_{reactor::bindOp<&UnaryClient::onConnect>(this, scope_)};
  reactor::Op deadlineOp_{reactor::bindOp<&UnaryClient::onDeadline>(this, scope_)};
};

}  // namespace udp::grpc
