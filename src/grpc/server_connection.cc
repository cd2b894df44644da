#include "grpc/server_connection.h"

#include <errno.h>

#include <algorithm>

#include "grpc/timeout.h"

namespace udp::grpc {
namespace {

http2::ConnectionLimits http2Limits(const ServerLimits& limits) {
  http2::ConnectionLimits h2;
  h2.maxConcurrentStreams = limits.maxConcurrentStreams;
  // One whole request message with its 5-byte frame header must fit: a unary request is
  // handled only once it is complete.
  h2.receiveWindow = limits.maxMessageSize + 5;
  h2.requestTimeout = limits.requestTimeout;
  h2.drainTimeout = limits.drainTimeout;
  return h2;
}

bool isGrpcContentType(std::string_view type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (type.substr(0, kGrpc.size()) != kGrpc) return false;
  // "application/grpc", "application/grpc+proto", "application/grpc;charset=..."
  return type.size() == kGrpc.size() || type[kGrpc.size()] == '+' || type[kGrpc.size()] == ';';
}

}  // namespace

class ServerConnection::Call final : public ServerStream {
 public:
  Call(ServerConnection& owner, int32_t stream, uint32_t maxMessageSize)
      : owner_(owner), stream_(stream), decoder_(maxMessageSize) {}

  bool write(std::string_view message, bool supersedesQueued) override {
    if (!streaming_ || done_) return false;
    return queueMessage(message, supersedesQueued);
  }

  bool writeShared(std::shared_ptr<const std::string> message, bool supersedesQueued) override {
    if (!streaming_ || done_) return false;
    std::string header;
    // Refused before dropping what is queued: the last good message still goes out.
    if (!appendMessageFrameHeader(header, message->size())) return false;
    if (supersedesQueued) dropUnstarted();
    return owner_.http2_.queueShared(stream_, header, std::move(message));
  }

  bool queueMessage(std::string_view message, bool supersedesQueued) {
    std::string frame;
    if (!appendMessageFrame(frame, message)) return false;
    if (supersedesQueued) dropUnstarted();
    return owner_.http2_.queueData(stream_, std::move(frame));
  }

  // Drops the queued messages the peer has not started to receive.
  void dropUnstarted() {
    http2::Connection& h2 = owner_.http2_;
    if (h2.queuedBytes(stream_) > 0) h2.dropQueuedData(stream_);
  }

  void finish(const Status& status) override {
    if (done_) return;
    done_ = true;
    owner_.http2_.finishStream(stream_, trailersFor(status));
  }

  static http2::Headers trailersFor(const Status& status) {
    http2::Headers trailers{{"grpc-status", std::to_string(static_cast<int>(status.code))}};
    if (!status.message.empty()) {
      trailers.push_back({"grpc-message", encodeGrpcMessage(status.message)});
    }
    return trailers;
  }

  // A deferred unary call's grpc-timeout ran out before the service answered.
  void onDeadline(int res, uint32_t) noexcept {
    if (res == -ECANCELED || !deferred_) return;
    owner_.detachDeferred(*this);
    if (!done_) owner_.respondStatus(*this, {StatusCode::kDeadlineExceeded, "deadline exceeded"});
  }

  ServerConnection& owner_;
  int32_t stream_;
  FrameDecoder decoder_;
  // A deferred unary call waiting for the service's answer; shared with its UnaryResponder.
  std::shared_ptr<DeferredUnary> deferred_;
  reactor::Op deadlineOp_{reactor::bindOp<&Call::onDeadline>(this, owner_.scope_)};
  std::vector<std::string> messages_;
  std::string method_, scheme_, path_, authority_, contentType_, timeout_;
  bool headersDone_ = false;
  bool dispatched_ = false;  // handed to the service, or answered with an error
  bool streaming_ = false;   // an open server-streaming call the service holds
  bool done_ = false;        // final status submitted
};

ServerConnection::ServerConnection(reactor::Reactor& reactor, UniqueFd fd, Service& service,
                                   const ServerLimits& limits, reactor::OpScope* parent)
    : reactor_(reactor),
      service_(service),
      maxMessageSize_(limits.maxMessageSize),
      scope_(parent),
      http2_(reactor, std::move(fd), http2::Role::kServer, *this, http2Limits(limits), &scope_) {}

ServerConnection::~ServerConnection() {
  for (auto& [id, call] : calls_) {
    if (call->streaming_) service_.streamClosed(*call);
    detachDeferred(*call);
  }
}

void ServerConnection::closeGracefully() {
  // finish() can close its stream at once, and retire() then erases it from calls_: walk a copy
  // of the IDs, not the map.
  std::vector<int32_t> streams;
  for (auto& [id, call] : calls_) {
    if (call->streaming_ && !call->done_) streams.push_back(id);
  }
  for (int32_t id : streams) {
    Call* call = findCall(id);
    if (call != nullptr && call->streaming_ && !call->done_) call->finish(Status::Ok());
  }
  std::vector<int32_t> deferred;
  for (auto& [id, call] : calls_) {
    if (call->deferred_) deferred.push_back(id);
  }
  for (int32_t id : deferred) {
    Call* call = findCall(id);
    if (call == nullptr || !call->deferred_) continue;
    detachDeferred(*call);
    if (call->done_) continue;
    // Headers, then trailers, as a stream ends: the GOAWAY waits for those (a trailers-only
    // HEADERS still queued in nghttp2 would be dropped by it).
    http2_.submitResponseHeaders(call->stream_,
                                 {{":status", "200"}, {"content-type", "application/grpc"}});
    call->finish({StatusCode::kUnavailable, "the server is closing"});
  }
  http2_.closeGracefully();
}

void ServerConnection::sweep() {
  std::erase_if(retired_, [](const auto& call) { return !call->deadlineOp_.pending(); });
}

ServerConnection::Call* ServerConnection::findCall(int32_t stream) {
  auto it = calls_.find(stream);
  return it == calls_.end() ? nullptr : it->second.get();
}

void ServerConnection::onHeader(int32_t stream, http2::HeaderBlock block, std::string_view name,
                                std::string_view value) {
  if (block == http2::HeaderBlock::kRequest) {
    auto [it, inserted] = calls_.try_emplace(stream, nullptr);
    if (inserted) it->second = std::make_unique<Call>(*this, stream, maxMessageSize_);
  }
  Call* call = findCall(stream);
  if (call == nullptr || call->headersDone_) return;  // trailers from a client: nothing we use
  if (name == ":method") {
    call->method_ = value;
  } else if (name == ":scheme") {
    call->scheme_ = value;
  } else if (name == ":path") {
    call->path_ = value;
  } else if (name == ":authority") {
    call->authority_ = value;
  } else if (name == "content-type") {
    call->contentType_ = value;
  } else if (name == "grpc-timeout") {
    call->timeout_ = value;
  }
}

void ServerConnection::onHeadersDone(int32_t stream, http2::HeaderBlock block, bool endStream) {
  Call* call = findCall(stream);
  if (call == nullptr) return;
  if (block == http2::HeaderBlock::kRequest) {
    call->headersDone_ = true;
    // HTTP messaging checks are off in nghttp2 (old kubelets put a '/' in :authority), so the
    // request line is checked here.
    if (call->method_ != "POST" || call->path_.empty() || call->scheme_.empty()) {
      respondHttpError(*call, call->method_ == "POST" ? 400 : 405);
      return;
    }
    if (!isGrpcContentType(call->contentType_)) {
      respondHttpError(*call, 415);
      return;
    }
    if (!service_.methodKind(call->path_)) {
      respondStatus(*call, {StatusCode::kUnimplemented, "unknown method " + call->path_});
      return;
    }
    if (!call->timeout_.empty() && !parseGrpcTimeout(call->timeout_)) {
      respondStatus(*call, {StatusCode::kInternal, "malformed grpc-timeout " + call->timeout_});
      return;
    }
  }
  if (endStream) onRemoteEnd(stream);
}

void ServerConnection::onData(int32_t stream, std::string_view bytes) {
  Call* call = findCall(stream);
  if (call == nullptr || call->dispatched_) {
    http2_.consume(stream);  // answered already; the rest is dropped, not held
    return;
  }
  switch (call->decoder_.feed(bytes, call->messages_)) {
    case DecodeStatus::kOk:
      break;
    case DecodeStatus::kTooLarge:
      respondStatus(*call,
                    {StatusCode::kResourceExhausted,
                     "request message larger than " + std::to_string(maxMessageSize_) + " bytes"});
      return;
    case DecodeStatus::kCompressed:
      respondStatus(*call, {StatusCode::kUnimplemented,
                            "compressed messages are not supported (no grpc-encoding offered)"});
      return;
    case DecodeStatus::kBadFlag:
      respondStatus(*call, {StatusCode::kInternal, "malformed gRPC message frame"});
      return;
  }
  if (call->messages_.size() > 1) {
    respondStatus(*call, {StatusCode::kInvalidArgument, "more than one request message"});
  }
}

void ServerConnection::onRemoteEnd(int32_t stream) {
  Call* call = findCall(stream);
  if (call == nullptr || call->dispatched_) return;
  if (call->decoder_.hasPartialMessage()) {
    respondStatus(*call, {StatusCode::kInternal, "request ended inside a message"});
    return;
  }
  if (call->messages_.size() != 1) {
    respondStatus(*call, {StatusCode::kInvalidArgument, "expected one request message"});
    return;
  }
  dispatch(*call);
}

void ServerConnection::release(Call& call) {
  call.dispatched_ = true;
  http2_.consume(call.stream_);
}

void ServerConnection::dispatch(Call& call) {
  call.dispatched_ = true;
  CallContext context{call.path_, call.authority_, std::nullopt};
  if (!call.timeout_.empty()) context.timeout = parseGrpcTimeout(call.timeout_);
  MethodKind kind = service_.methodKind(call.path_).value_or(MethodKind::kUnary);
  if (kind == MethodKind::kDeferredUnary) {
    dispatchDeferred(call, context);
    return;
  }
  std::string_view request = call.messages_.front();
  if (kind == MethodKind::kServerStreaming) {
    http2_.submitResponseHeaders(call.stream_,
                                 {{":status", "200"}, {"content-type", "application/grpc"}});
    call.streaming_ = true;
    Status status = service_.openStream(context, request, call);
    call.messages_.clear();
    release(call);
    if (!status.ok()) {
      call.streaming_ = false;
      call.finish(status);
    }
    return;
  }
  std::string response;
  Status status = service_.handleUnary(context, request, response);
  call.messages_.clear();
  release(call);
  respondUnary(call, status, response);
}

void ServerConnection::dispatchDeferred(Call& call, const CallContext& context) {
  // The request leaves the receive window now: a call waiting on someone else must not hold the
  // peer's flow control.
  std::string request = std::move(call.messages_.front());
  call.messages_.clear();
  release(call);
  auto deferred = std::make_shared<DeferredUnary>();
  Call* raw = &call;
  deferred->answer = [this, raw](const Status& status, std::string_view response) {
    answerDeferred(*raw, status, response);
  };
  call.deferred_ = deferred;
  // A client resets the stream at its deadline too; ours answers DEADLINE_EXCEEDED for clients
  // that do not. Deadlines beyond a day are left to the client (the reactor's clock arithmetic
  // would overflow at grpc-timeout's largest values).
  if (context.timeout && *context.timeout <= std::chrono::hours(24)) {
    reactor_.timeout(call.deadlineOp_, std::max(*context.timeout, std::chrono::nanoseconds(0)));
  }
  service_.startUnary(context, request, UnaryResponder(std::move(deferred)));
}

void ServerConnection::answerDeferred(Call& call, const Status& status, std::string_view response) {
  // The responder cleared its side before calling; the timer and our pointer go here.
  call.deferred_.reset();
  if (call.deadlineOp_.pending()) reactor_.cancel(call.deadlineOp_);
  if (!call.done_) respondUnary(call, status, response);
}

void ServerConnection::detachDeferred(Call& call) {
  if (call.deadlineOp_.pending()) reactor_.cancel(call.deadlineOp_);
  if (!call.deferred_) return;
  std::shared_ptr<DeferredUnary> deferred = std::move(call.deferred_);
  deferred->answer = nullptr;
  std::function<void()> onCancel = std::move(deferred->onCancel);
  deferred->onCancel = nullptr;
  if (onCancel) onCancel();
}

void ServerConnection::respondUnary(Call& call, const Status& status, std::string_view response) {
  if (!status.ok()) {
    respondStatus(call, status);
    return;
  }
  if (response.size() > kDefaultMaxMessageSize) {  // what grpc-go's server answers too
    respondStatus(call, {StatusCode::kResourceExhausted,
                         "response of " + std::to_string(response.size()) + " bytes is over " +
                             std::to_string(kDefaultMaxMessageSize)});
    return;
  }
  http2_.submitResponseHeaders(call.stream_,
                               {{":status", "200"}, {"content-type", "application/grpc"}});
  call.queueMessage(response, false);
  call.finish(Status::Ok());
}

void ServerConnection::respondStatus(Call& call, const Status& status) {
  release(call);
  call.done_ = true;
  // Trailers-only: one HEADERS frame with END_STREAM carries the whole answer.
  http2::Headers headers{{":status", "200"}, {"content-type", "application/grpc"}};
  for (auto& trailer : Call::trailersFor(status)) headers.push_back(std::move(trailer));
  http2_.submitHeadersAndEnd(call.stream_, headers);
}

void ServerConnection::respondHttpError(Call& call, int httpStatus) {
  release(call);
  call.done_ = true;
  http2_.submitHeadersAndEnd(call.stream_, {{":status", std::to_string(httpStatus)}});
}

void ServerConnection::onStreamClosed(int32_t stream, uint32_t) {
  retire(stream);
}

void ServerConnection::retire(int32_t stream) {
  auto it = calls_.find(stream);
  if (it == calls_.end()) return;
  if (it->second->streaming_) {
    it->second->streaming_ = false;
    service_.streamClosed(*it->second);
  }
  detachDeferred(*it->second);
  it->second->done_ = true;
  retired_.push_back(std::move(it->second));
  calls_.erase(it);
}

void ServerConnection::onConnectionClosed() {
  std::vector<int32_t> streams;
  for (auto& [id, call] : calls_) streams.push_back(id);
  for (int32_t id : streams) retire(id);
}

}  // namespace udp::grpc
