#pragma once

// One connection to the API server: a TCP connect (each address in turn), TLS, then an HTTP/2
// client session over it (http2::Connection with a TLS transport). Streams are known by the call
// IDs the client gives them; what happens on them goes back to the client as events.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http2/connection.h"
#include "kubeapi/resolver.h"
#include "reactor/reactor.h"
#include "tls/tls_context.h"
#include "util/unique_fd.h"

namespace udp::kubeapi {

class ApiConnection;

// What the client hears. Each runs inside a completion; the client may call back into the
// connection (submit, reset, close) from any of them, but frees it only in its sweep.
class ApiConnectionEvents {
 public:
  virtual ~ApiConnectionEvents() = default;
  virtual void onConnectionReady(ApiConnection& connection) = 0;  // TLS and ALPN h2 done
  virtual void onConnectionGoAway(ApiConnection& connection) = 0;
  // Connecting failed or the connection closed; `calls` were still on it. Called once.
  virtual void onConnectionClosed(ApiConnection& connection, std::vector<uint64_t> calls) = 0;
  virtual void onCallHeader(uint64_t call, std::string_view name, std::string_view value) = 0;
  virtual void onCallHeadersDone(uint64_t call) = 0;
  virtual void onCallData(uint64_t call, std::string_view bytes) = 0;
  // The response is complete (errorCode 0), or the stream was reset or refused. Last event of a
  // call; the connection forgets it first.
  virtual void onCallEnded(uint64_t call, uint32_t errorCode) = 0;
};

struct ApiConnectionOptions {
  std::shared_ptr<const tls::ClientContext> tls{};
  std::string serverName{};  // what the certificate must name
  std::vector<SocketAddress> addresses{};
  // From the first connect attempt to the end of the TLS handshake.
  std::chrono::milliseconds connectTimeout{10000};
};

class ApiConnection final : private http2::ConnectionListener {
 public:
  ApiConnection(reactor::Reactor& reactor, ApiConnectionEvents& events,
                ApiConnectionOptions options, reactor::OpScope* parent = nullptr);
  ~ApiConnection() override;
  ApiConnection(const ApiConnection&) = delete;
  ApiConnection& operator=(const ApiConnection&) = delete;

  void start();
  // Once ready(): a request for `call`, its body (if any) sent after the headers. False when the
  // connection cannot take it.
  bool submit(uint64_t call, const http2::Headers& headers, std::string body);
  // RST_STREAM(CANCEL) for the call's stream; no event for it follows.
  void reset(uint64_t call);
  void close();

  bool ready() const { return ready_ && !closed_; }
  bool goingAway() const { return goingAway_; }
  bool closed() const { return closed_; }
  size_t activeCalls() const { return callOf_.size(); }
  // Why it closed or never connected, one line.
  const std::string& error() const { return error_; }
  // The address connected to (or last tried).
  std::string peer() const;
  // When the TLS handshake finished (ready()).
  std::chrono::steady_clock::time_point readyAt() const { return readyAt_; }
  // Closed and nothing in flight: the owner may free it, in its end-of-turn sweep.
  bool finished() const { return closed_ && scope_.idle(); }

 private:
  void tryNextAddress();
  void onConnect(int res, uint32_t flags) noexcept;
  void onTimer(int res, uint32_t flags) noexcept;
  void fail(std::string why);
  void endCall(int32_t stream, uint32_t errorCode);

  void onHeader(int32_t stream, http2::HeaderBlock block, std::string_view name,
                std::string_view value) override;
  void onHeadersDone(int32_t stream, http2::HeaderBlock block, bool endStream) override;
  void onData(int32_t stream, std::string_view bytes) override;
  void onRemoteEnd(int32_t stream) override;
  void onStreamClosed(int32_t stream, uint32_t errorCode) override;
  void onConnectionClosed() override;
  void onTransportReady() override;
  void onGoAway(int32_t lastStreamId, uint32_t errorCode) override;

  reactor::Reactor& reactor_;
  ApiConnectionEvents& events_;
  ApiConnectionOptions options_;  // addresses are read by the kernel while connectOp_ is pending
  reactor::OpScope scope_;        // before connection_, whose ops count in it
  size_t nextAddress_ = 0;
  UniqueFd socket_;  // until connected; then connection_ owns it
  std::unique_ptr<http2::Connection> connection_;
  std::unordered_map<int32_t, uint64_t> callOf_;    // stream → call
  std::unordered_map<uint64_t, int32_t> streamOf_;  // call → stream
  std::string error_;
  std::chrono::steady_clock::time_point readyAt_{};
  bool ready_ = false;
  bool goingAway_ = false;
  bool closed_ = false;

  reactor::Op connectOp_{reactor::bindOp<&ApiConnection::onConnect>(this, scope_)};
  reactor::Op timerOp_{reactor::bindOp<&ApiConnection::onTimer>(this, scope_)};
};

}  // namespace udp::kubeapi
