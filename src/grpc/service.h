#pragma once

// What a gRPC server serves: method routing and handlers, with no I/O in sight. The server
// connection (server_connection.h) turns HTTP/2 streams into calls on a Service.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "grpc/status.h"

namespace udp::grpc {

// kDeferredUnary: a unary call the service answers later, through a UnaryResponder (when it must
// ask someone else first, e.g. the API server).
enum class MethodKind { kUnary, kServerStreaming, kDeferredUnary };

struct CallContext {
  std::string_view path;       // "/package.Service/Method"
  std::string_view authority;  // "localhost", or the socket path on kubelets before 1.26
  std::optional<std::chrono::nanoseconds> timeout;  // from grpc-timeout
};

// A server-streaming call as the service sees it. Borrowed: valid until Service::streamClosed.
class ServerStream {
 public:
  virtual ~ServerStream() = default;
  // Queues one message. With `supersedesQueued`, a previous message the peer has not started to
  // receive is dropped: for lists where each message replaces the last, a slow reader then costs
  // one message of memory, not a backlog.
  virtual bool write(std::string_view message, bool supersedesQueued) = 0;
  // The same without a copy of `message`: streams sending one message share its bytes, which
  // are freed once the last stream has sent them (or dropped them, superseded).
  virtual bool writeShared(std::shared_ptr<const std::string> message, bool supersedesQueued) = 0;
  // Ends the call with trailers carrying `status`.
  virtual void finish(const Status& status) = 0;
};

// What a deferred unary call shares between the connection and the service: the connection
// detaches it when the call goes away, so that a service holding a UnaryResponder never holds a
// dangling reference.
struct DeferredUnary {
  // Answers the call, then detaches; set by the connection while the call is waiting.
  std::function<void(const Status&, std::string_view response)> answer;
  // Told once when the call goes away unanswered (peer reset, connection closed, deadline).
  std::function<void()> onCancel;
};

// The service's handle on a deferred unary call. Copyable; every copy answers the same call.
class UnaryResponder {
 public:
  explicit UnaryResponder(std::shared_ptr<DeferredUnary> call) : call_(std::move(call)) {}

  // Answers with `response` (serialized) when `status` is OK, else with the status alone. Only
  // the first answer counts; answering a call that went away does nothing.
  void finish(const Status& status, std::string_view response = {}) const {
    if (!call_ || !call_->answer) return;
    auto answer = std::move(call_->answer);
    call_->answer = nullptr;
    call_->onCancel = nullptr;
    answer(status, response);
  }
  // The call still waits for its answer.
  bool waiting() const { return call_ && call_->answer != nullptr; }
  // `fn` runs once if the call goes away unanswered; it must not answer this call.
  void onCancel(std::function<void()> fn) const {
    if (waiting()) call_->onCancel = std::move(fn);
  }

 private:
  std::shared_ptr<DeferredUnary> call_;
};

class Service {
 public:
  virtual ~Service() = default;
  virtual std::optional<MethodKind> methodKind(std::string_view path) const = 0;
  // Fills `response` (serialized) or returns a non-OK status.
  virtual Status handleUnary(const CallContext& call, std::string_view request,
                             std::string& response) = 0;
  // kDeferredUnary methods: starts the call; `responder` answers it, now or later.
  virtual void startUnary(const CallContext& call, std::string_view /*request*/,
                          UnaryResponder responder) {
    responder.finish({StatusCode::kUnimplemented, "unknown method " + std::string(call.path)});
  }
  // Accepts the stream (and may write to it at once) or returns a non-OK status.
  virtual Status openStream(const CallContext& call, std::string_view request,
                            ServerStream& stream) = 0;
  // The stream ended (finished, cancelled, or its connection closed); forget it.
  virtual void streamClosed(ServerStream& stream) = 0;
};

}  // namespace udp::grpc
