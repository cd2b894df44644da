#pragma once

// One accepted connection of a gRPC server: HTTP/2 streams become calls on a Service
// (DESIGN.md §3: request validation, framing, trailers, errors).

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "grpc/framing.h"
#include "grpc/service.h"
#include "http2/connection.h"

namespace udp::grpc {

class ServerConnection final : private http2::ConnectionListener {
 public:
  ServerConnection(reactor::Reactor& reactor, UniqueFd fd, Service& service,
                   uint32_t maxMessageSize = kDefaultMaxMessageSize,
                   reactor::OpScope* parent = nullptr);
  ~ServerConnection() override;

  void start() { http2_.start(); }
  void closeGracefully();
  // Frees calls whose streams closed; called by the owner at the end of a reactor turn.
  void sweep();
  bool finished() const { return http2_.finished(); }

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
  void respondStatus(Call& call, const Status& status);
  void respondHttpError(Call& call, int httpStatus);
  void retire(int32_t stream);

  Service& service_;
  uint32_t maxMessageSize_;
  http2::Connection http2_;
  std::unordered_map<int32_t, std::unique_ptr<Call>> calls_;
  // Calls whose stream closed inside an nghttp2 callback; freed in sweep(), never while a
  // method of theirs may still be on the stack.
  std::vector<std::unique_ptr<Call>> retired_;
};

}  // namespace udp::grpc
