#pragma once

// The Kubernetes API client on the reactor (DESIGN.md §4): one HTTP/2 connection over TLS to the
// API server, many concurrent requests and watches on it, JSON in and out as bytes. Nothing here
// blocks the loop: names are resolved off the loop (Resolver), the socket and TLS run on the
// reactor's ops, and the token file is looked at no more than every few seconds (TokenSource).
//
// Failures cost delay, not requests. The client connects at start() and keeps one connection:
// when it is lost or cannot be made it reconnects after a capped exponential backoff with jitter
// (100 ms → 30 s). A request made meanwhile waits for the connection until its deadline. A
// request the server never saw (refused by GOAWAY, or still queued) goes out again on the next
// connection; so does a GET or a watch that got no response headers yet. Anything else on a
// lost connection ends with status 0, since the server may have acted on it. After GOAWAY the
// streams in flight finish on the old connection while new ones go to a new connection.
//
// Watches: the API server ends every watch after a while (a random 30-60 minutes by default, or
// the request's timeoutSeconds) and on restarts; onEnd is called then, and re-establishing the
// watch (from the last resourceVersion seen) is the caller's job.
//
// Lifetimes (DESIGN.md §5.8): connections are freed in sweep(), which the owner runs at the end
// of every reactor turn, never inside a completion. Callbacks may call request(), watch(),
// cancel() and stop() on the client. Destroying the client is safe once nothing is in flight
// (idle(), or after Reactor::drain); callbacks of requests left then are dropped uncalled.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kubeapi/api_connection.h"
#include "kubeapi/client_config.h"
#include "kubeapi/resolver.h"
#include "kubeapi/token_source.h"
#include "reactor/reactor.h"
#include "tls/tls_context.h"
#include "util/backoff.h"
#include "util/result.h"

namespace udp::kubeapi {

struct Response {
  int status = 0;       // the HTTP status; 0: no answer (transport failure, deadline, stopped)
  std::string body{};   // as received (JSON from the API server, a Status object on errors)
  std::string error{};  // status 0: why, in one line
};

struct Request {
  std::string method = "GET";
  // "/api/v1/namespaces/default/pods?limit=500", below the server's prefix; the query made with
  // addQueryParameter (url_query.h), which escapes it.
  std::string path{};
  std::string body{};
  std::string contentType = "application/json";  // of the body, when there is one
  // From the call to the answer, the wait for a connection included; for a watch, to its
  // response headers. 0: ApiClientOptions::requestDeadline.
  std::chrono::milliseconds deadline{0};
};

// Names one request or watch for cancel(); 0 is none.
struct CallHandle {
  uint64_t id = 0;
  explicit operator bool() const { return id != 0; }
};

struct ApiClientOptions {
  std::chrono::milliseconds requestDeadline{30000};
  std::chrono::milliseconds connectTimeout{10000};  // connect and TLS handshake
  BackoffTiming reconnect{std::chrono::milliseconds(100), std::chrono::milliseconds(30000)};
  size_t maxResponseBytes = 64 * 1024 * 1024;  // a larger body ends the call with status 0
  std::string userAgent = "udev-device-plugin";
};

class ApiClient final : private ApiConnectionEvents {
 public:
  // Called exactly once per request, unless it is cancelled or the client destroyed first.
  using Done = std::function<void(Response)>;
  using OnLine = std::function<void(std::string_view line)>;

  // Fails when the TLS material is unusable (bad PEM, a key that does not fit).
  static Result<std::unique_ptr<ApiClient>> create(reactor::Reactor& reactor, ClientConfig config,
                                                   ApiClientOptions options = {},
                                                   reactor::OpScope* parent = nullptr);
  ~ApiClient() override;
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Connects now; requests made before start() wait for it.
  void start();
  // Ends every request (Done with status 0, "stopped"; watches' onEnd too) and closes the
  // connections; nothing reconnects. Later requests end the same way, from the next turn.
  void stop();
  // Frees closed connections. The owner calls it at the end of every reactor turn.
  void sweep();
  // Nothing in flight: the client may be destroyed.
  bool idle() const { return scope_.idle(); }

  // A request with a JSON body (when not empty); Accept: application/json.
  CallHandle request(Request request, Done done);
  CallHandle request(std::string method, std::string path, std::string body, Done done);
  // A watch (path with ?watch=true...): onLine gets each complete line of the 2xx response
  // body as it arrives (one JSON event each, newline removed), across DATA frames however they
  // split; onEnd the end (status and, for a non-2xx answer, its body; status 0 and an error
  // when the connection was lost). Either may cancel the watch.
  CallHandle watch(std::string path, OnLine onLine, Done onEnd);
  // The request's callbacks are not called any more; a stream in flight is reset.
  void cancel(CallHandle handle);

  // For /readyz and metrics.
  bool connected() const;
  // While not connected(): since when, the client's creation or the loss of its last ready
  // connection (failed attempts to reconnect do not move it); nullopt while connected.
  std::optional<std::chrono::steady_clock::time_point> disconnectedSince() const;
  // The last connection failure, one line; empty once connected.
  const std::string& lastError() const { return lastError_; }
  uint64_t errors() const { return errors_; }      // failed connects, lost connections, status 0
  uint64_t connects() const { return connects_; }  // connections made (TLS done)
  uint64_t requests() const { return requestsMade_; }  // requests and watches made
  size_t inFlight() const { return calls_.size(); }    // requests and watches not ended
  const ClientConfig& config() const { return config_; }

 private:
  struct Call;

  ApiClient(reactor::Reactor& reactor, ClientConfig config, ApiClientOptions options,
            std::shared_ptr<const tls::ClientContext> tls, reactor::OpScope* parent);

  CallHandle add(std::unique_ptr<Call> call);
  void connect();
  void connectTo(std::vector<SocketAddress> addresses);
  void connectionFailed(const std::string& error);
  // active_ is lost (closed, or sent away): an outage starts if it was ready.
  void lostActive();
  void dispatch();
  void send(Call& call, ApiConnection& connection);
  void requeue(Call& call);
  void finish(uint64_t id, Response response);
  void deliverLines(uint64_t id, std::string_view bytes);
  void expire(std::chrono::steady_clock::time_point now);
  void armTimer();
  void onTimer(int res, uint32_t flags) noexcept;
  Call* find(uint64_t id);

  void onConnectionReady(ApiConnection& connection) override;
  void onConnectionGoAway(ApiConnection& connection) override;
  void onConnectionClosed(ApiConnection& connection, std::vector<uint64_t> calls) override;
  void onCallHeader(uint64_t call, std::string_view name, std::string_view value) override;
  void onCallHeadersDone(uint64_t call) override;
  void onCallData(uint64_t call, std::string_view bytes) override;
  void onCallEnded(uint64_t call, uint32_t errorCode) override;

  reactor::Reactor& reactor_;
  ClientConfig config_;
  ApiClientOptions options_;
  std::shared_ptr<const tls::ClientContext> tls_;
  TokenSource token_;
  std::string authority_;  // host:port, [v6]:port

  reactor::OpScope scope_;  // before everything below that has ops
  Resolver resolver_{reactor_, &scope_};
  std::unique_ptr<ApiConnection> active_;                // the connection new requests go to
  std::vector<std::unique_ptr<ApiConnection>> retired_;  // draining after GOAWAY, or closed
  // Ordered by id, so the oldest request waiting for a connection is sent first.
  std::map<uint64_t, std::unique_ptr<Call>> calls_;
  uint64_t nextId_ = 1;

  Backoff backoff_;
  std::minstd_rand jitter_;
  std::optional<std::chrono::steady_clock::time_point> reconnectAt_;
  std::optional<std::chrono::steady_clock::time_point> timerAt_;  // what timerOp_ is armed for
  bool rearm_ = false;  // timerOp_ was cancelled to be armed earlier
  bool started_ = false;
  bool stopped_ = false;
  bool up_ = false;  // active_ became ready and has not been lost since
  std::chrono::steady_clock::time_point disconnectedSince_ = std::chrono::steady_clock::now();
  std::string lastError_;
  uint64_t errors_ = 0;
  uint64_t connects_ = 0;
  uint64_t requestsMade_ = 0;

  reactor::Op timerOp_{reactor::bindOp<&ApiClient::onTimer>(this, scope_)};
};

}  // namespace udp::kubeapi
