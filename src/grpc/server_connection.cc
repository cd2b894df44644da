#include "grpc/server_connection.h"

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

  ServerConnection& owner_;
  int32_t stream_;
  FrameDecoder decoder_;
  std::vector<std::string> messages_;
  std::string method_, scheme_, path_, authority_, contentType_, timeout_;
  bool headersDone_ = false;
  bool dispatched_ = false;  // handed to the service, or answered with an error
  bool streaming_ = false;   // an open server-streaming call the service holds
  bool done_ = false;        // final status submitted
};

ServerConnection::ServerConnection(reactor::Reactor& reactor, UniqueFd fd, Service& service,
                                   const ServerLimits& limits, reactor::OpScope* parent)
    : service_(service),
      maxMessageSize_(limits.maxMessageSize),
      http2_(reactor, std::move(fd), http2::Role::kServer, *this, http2Limits(limits), parent) {}

ServerConnection::~ServerConnection() {
  for (auto& [id, call] : calls_) {
    if (call->streaming_) service_.streamClosed(*call);
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
  http2_.closeGracefully();
}

void ServerConnection::sweep() {
  retired_.clear();
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
  std::string_view request = call.messages_.front();
  http2::Headers headers{{":status", "200"}, {"content-type", "application/grpc"}};

  if (service_.methodKind(call.path_) == MethodKind::kServerStreaming) {
    http2_.submitResponseHeaders(call.stream_, headers);
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
  http2_.submitResponseHeaders(call.stream_, headers);
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
