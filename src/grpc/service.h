#pragma once

// What a gRPC server serves: method routing and handlers, with no I/O in sight. The server
// connection (server_connection.h) turns HTTP/2 streams into calls on a Service.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "grpc/status.h"

namespace udp::grpc {

enum class MethodKind { kUnary, kServerStreaming };

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

class Service {
 public:
  virtual ~Service() = default;
  virtual std::optional<MethodKind> methodKind(std::string_view path) const = 0;
  // Fills `response` (serialized) or returns a non-OK status.
  virtual Status handleUnary(const CallContext& call, std::string_view request,
                             std::string& response) = 0;
  // Accepts the stream (and may write to it at once) or returns a non-OK status.
  virtual Status openStream(const CallContext& call, std::string_view request,
                            ServerStream& stream) = 0;
  // The stream ended (finished, cancelled, or its connection closed); forget it.
  virtual void streamClosed(ServerStream& stream) = 0;
};

}  // namespace udp::grpc
