#include "grpc/unary_client.h"

#include <errno.h>
#include <string.h>

#include "grpc/timeout.h"

namespace udp::grpc {

UnaryClient::UnaryClient(reactor::Reactor& reactor, UnaryRequest request, Done done,
                         reactor::OpScope* parent)
    : reactor_(reactor), request_(std::move(request)), done_(std::move(done)), scope_(parent) {}

UnaryClient::~UnaryClient() = default;

bool UnaryClient::finished() const {
  return completed_ && scope_.idle() && (connection_ == nullptr || connection_->finished());
}

void UnaryClient::start() {
  started_ = std::chrono::steady_clock::now();
  if (request_.message.size() > kDefaultMaxMessageSize) {
    complete({StatusCode::kResourceExhausted, "request of " +
                                                  std::to_string(request_.message.size()) +
                                                  " bytes is over the peer's limit"});
    return;
  }
  auto address = unixAddress(request_.socketPath);
  if (!address) {
    complete({StatusCode::kUnavailable, address.error().message});
    return;
  }
  address_ = *address;
  auto socket = unixStreamSocket();
  if (!socket) {
    complete({StatusCode::kUnavailable, socket.error().message});
    return;
  }
  socket_ = std::move(*socket);
  reactor_.timeout(deadlineOp_, request_.deadline);
  // address_ belongs to connectOp_ until it completes.
  reactor_.connect(connectOp_, socket_.get(), reinterpret_cast<const sockaddr*>(&address_.addr),
                   address_.len);
}

void UnaryClient::onConnect(int res, uint32_t) noexcept {
  if (completed_) return;
  if (res < 0) {
    complete({StatusCode::kUnavailable, "connect " + request_.socketPath + ": " + strerror(-res)});
    return;
  }
  connection_ = std::make_unique<http2::Connection>(
      reactor_, std::move(socket_), http2::Role::kClient, static_cast<ConnectionListener&>(*this),
      http2::ConnectionLimits{}, &scope_);
  connection_->start();
  // The time connect took is gone from the deadline: the peer gets what is left, so its deadline
  // ends no later than ours (deadlineOp_ still ends the call at request_.deadline either way).
  auto left = request_.deadline - (std::chrono::steady_clock::now() - started_);
  http2::Headers headers{{":method", "POST"},
                         {":scheme", "http"},
                         {":path", request_.method},
                         {":authority", request_.authority},
                         {"content-type", "application/grpc"},
                         {"te", "trailers"},
                         {"grpc-timeout", formatGrpcTimeout(left)},
                         {"user-agent", "udev-device-plugin"}};
  stream_ = connection_->submitRequest(headers);
  if (stream_ < 0) {
    complete({StatusCode::kInternal, "cannot submit request"});
    return;
  }
  std::string frame;
  if (!appendMessageFrame(frame, request_.message)) {  // checked in start(); kept as the rule
    complete({StatusCode::kResourceExhausted, "request over the peer's limit"});
    return;
  }
  connection_->queueData(stream_, std::move(frame));
  connection_->finishStream(stream_, {});
}

void UnaryClient::onDeadline(int res, uint32_t) noexcept {
  if (res == -ECANCELED || completed_) return;
  complete(
      {StatusCode::kDeadlineExceeded,
       "no answer from " + request_.socketPath + " within " +
           std::to_string(
               std::chrono::duration_cast<std::chrono::milliseconds>(request_.deadline).count()) +
           " ms"});
}

void UnaryClient::cancel() {
  if (!completed_) complete({StatusCode::kCancelled, "cancelled"});
}

void UnaryClient::complete(const Status& status) {
  if (completed_) return;
  completed_ = true;
  reactor_.cancel(deadlineOp_);
  reactor_.cancel(connectOp_);
  if (connection_) connection_->close();
  std::string response = messages_.empty() ? std::string() : std::move(messages_.front());
  // done_ may destroy nothing of ours: owners free clients only in their end-of-turn sweep.
  Done done = std::move(done_);
  if (done) done(status, response);
}

void UnaryClient::onHeader(int32_t stream, http2::HeaderBlock, std::string_view name,
                           std::string_view value) {
  if (stream != stream_) return;
  if (name == ":status") {
    httpStatus_ = value;
  } else if (name == "grpc-status") {
    grpcStatus_ = value;
  } else if (name == "grpc-message") {
    grpcMessage_ = decodeGrpcMessage(value);
  }
}

void UnaryClient::onHeadersDone(int32_t, http2::HeaderBlock, bool) {}

void UnaryClient::onData(int32_t stream, std::string_view bytes) {
  if (stream != stream_ || completed_) return;
  if (decoder_.feed(bytes, messages_) != DecodeStatus::kOk) {
    complete({StatusCode::kInternal, "malformed response message from " + request_.socketPath});
  }
}

void UnaryClient::onRemoteEnd(int32_t) {}

void UnaryClient::onStreamClosed(int32_t stream, uint32_t errorCode) {
  if (stream != stream_ || completed_) return;
  if (grpcStatus_.empty()) {
    if (errorCode != 0) {
      complete({StatusCode::kUnavailable, "stream reset by " + request_.socketPath +
                                              " (HTTP/2 error " + std::to_string(errorCode) + ")"});
    } else if (httpStatus_ != "200") {
      complete(
          {StatusCode::kUnknown, "HTTP status " + httpStatus_ + " from " + request_.socketPath});
    } else {
      complete({StatusCode::kUnknown, "response without grpc-status"});  // the spec's reading
    }
    return;
  }
  auto code = parseGrpcStatus(grpcStatus_);
  Status status{code.value_or(StatusCode::kUnknown), grpcMessage_};
  if (status.ok() && messages_.size() != 1) {
    status = {StatusCode::kInternal,
              "expected one response message, got " + std::to_string(messages_.size())};
  }
  complete(status);
}

void UnaryClient::onConnectionClosed() {
  if (!completed_) {
    complete({StatusCode::kUnavailable, "connection to " + request_.socketPath + " closed"});
  }
}

}  // namespace udp::grpc
