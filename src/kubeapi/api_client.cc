#include "kubeapi/api_client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace udp::kubeapi {
namespace {

using Clock = std::chrono::steady_clock;

// A connection sent away sooner than this after its handshake counts as a failure.
constexpr std::chrono::seconds kShortLived{1};

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

bool success(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

struct ApiClient::Call {
  uint64_t id = 0;
  Request request;
  bool watch = false;
  Done done;      // a request's answer, a watch's end
  OnLine onLine;  // watches
  std::chrono::milliseconds limit{0};
  Clock::time_point deadline;
  bool deadlineActive = true;           // false once a watch has its response headers
  ApiConnection* connection = nullptr;  // while sent and not ended
  bool authRetried = false;
  // The answer so far.
  int status = 0;
  bool headersDone = false;
  std::string body;         // requests, and watches answered with a non-2xx status
  std::string partialLine;  // watches: the bytes after the last newline

  // Sent again on another connection: the server never saw it, or it is safe to repeat.
  void resetAnswer() {
    connection = nullptr;
    status = 0;
    headersDone = false;
    body.clear();
    partialLine.clear();
    if (watch) deadlineActive = true;
  }
  bool idempotent() const { return request.method == "GET" || request.method == "HEAD"; }
};

Result<std::unique_ptr<ApiClient>> ApiClient::create(reactor::Reactor& reactor, ClientConfig config,
                                                     ApiClientOptions options,
                                                     reactor::OpScope* parent) {
  if (config.host.empty()) return makeError(-EINVAL, "API client: no server");
  auto tls = tls::ClientContext::create(
      {.caPem = config.caPem, .certPem = config.clientCertPem, .keyPem = config.clientKeyPem});
  if (!tls) return makeError(tls.error().code, config.origin + ": " + tls.error().message);
  return std::unique_ptr<ApiClient>(
      new ApiClient(reactor, std::move(config), std::move(options), std::move(*tls), parent));
}

ApiClient::ApiClient(reactor::Reactor& reactor, ClientConfig config, ApiClientOptions options,
                     std::shared_ptr<const tls::ClientContext> tls, reactor::OpScope* parent)
    : reactor_(reactor),
      config_(std::move(config)),
      options_(std::move(options)),
      tls_(std::move(tls)),
      token_(config_.token, config_.tokenFile),
      scope_(parent),
      backoff_(options_.reconnect),
      jitter_(std::random_device{}()) {
  in6_addr v6;
  bool bracket = inet_pton(AF_INET6, config_.host.c_str(), &v6) == 1;
  authority_ =
      (bracket ? "[" + config_.host + "]" : config_.host) + ":" + std::to_string(config_.port);
}

ApiClient::~ApiClient() = default;

void ApiClient::start() {
  if (started_ || stopped_) return;
  started_ = true;
  connect();
}

void ApiClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  reconnectAt_.reset();
  resolver_.cancel();
  std::vector<uint64_t> ids;
  for (const auto& [id, call] : calls_) ids.push_back(id);
  for (uint64_t id : ids) finish(id, {.status = 0, .body = {}, .error = "stopped"});
  if (active_) retired_.push_back(std::move(active_));
  for (size_t i = 0; i < retired_.size(); ++i) retired_[i]->close();
  // A reconnect timer must not keep the client busy; requests made by the callbacks above are
  // answered when it fires again, at once.
  if (timerOp_.pending()) {
    rearm_ = true;
    reactor_.cancel(timerOp_);
  }
}

void ApiClient::sweep() {
  std::erase_if(retired_, [](const auto& c) { return c->finished(); });
}

bool ApiClient::connected() const {
  return active_ && active_->ready() && !active_->goingAway();
}

std::optional<Clock::time_point> ApiClient::disconnectedSince() const {
  if (connected()) return std::nullopt;
  return disconnectedSince_;
}

void ApiClient::lostActive() {
  if (!up_) return;
  up_ = false;
  disconnectedSince_ = Clock::now();
}

ApiClient::Call* ApiClient::find(uint64_t id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second.get();
}

CallHandle ApiClient::request(Request request, Done done) {
  auto call = std::make_unique<Call>();
  call->request = std::move(request);
  call->done = std::move(done);
  return add(std::move(call));
}

CallHandle ApiClient::request(std::string method, std::string path, std::string body, Done done) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  return request(std::move(r), std::move(done));
}

CallHandle ApiClient::watch(std::string path, OnLine onLine, Done onEnd) {
  auto call = std::make_unique<Call>();
  call->request.path = std::move(path);
  call->watch = true;
  call->onLine = std::move(onLine);
  call->done = std::move(onEnd);
  return add(std::move(call));
}

CallHandle ApiClient::add(std::unique_ptr<Call> call) {
  uint64_t id = nextId_++;
  ++requestsMade_;
  call->id = id;
  call->limit =
      call->request.deadline.count() > 0 ? call->request.deadline : options_.requestDeadline;
  // A stopped client answers from the next turn, never inside the call that asked.
  call->deadline = Clock::now() + (stopped_ ? Clock::duration::zero() : call->limit);
  Clock::time_point deadline = call->deadline;
  calls_.emplace(id, std::move(call));
  if (!stopped_) dispatch();
  if (find(id) != nullptr) {
    if (!timerOp_.pending() || (timerAt_ && deadline < *timerAt_)) armTimer();
  }
  return CallHandle{id};
}

void ApiClient::cancel(CallHandle handle) {
  auto it = calls_.find(handle.id);
  if (it == calls_.end()) return;
  if (it->second->connection != nullptr) it->second->connection->reset(handle.id);
  calls_.erase(it);  // no callback of it is running: each moves its function out first
}

void ApiClient::connect() {
  if (stopped_ || active_ || resolver_.busy()) return;
  reconnectAt_.reset();
  if (auto literal = literalAddress(config_.host, config_.port)) {
    connectTo({*literal});
    return;
  }
  resolver_.resolve(config_.host, config_.port, [this](Result<std::vector<SocketAddress>> r) {
    if (stopped_) return;
    if (!r) {
      connectionFailed(r.error().message);
      return;
    }
    connectTo(std::move(*r));
  });
}

void ApiClient::connectTo(std::vector<SocketAddress> addresses) {
  ApiConnectionOptions options{
      .tls = tls_,
      .serverName = config_.tlsServerName.empty() ? config_.host : config_.tlsServerName,
      .addresses = std::move(addresses),
      .connectTimeout = options_.connectTimeout};
  auto connection = std::make_unique<ApiConnection>(
      reactor_, static_cast<ApiConnectionEvents&>(*this), std::move(options), &scope_);
  ApiConnection& started = *connection;
  active_ = std::move(connection);
  started.start();  // may fail at once: onConnectionClosed has then retired it
}

void ApiClient::connectionFailed(const std::string& error) {
  lastError_ = error;
  ++errors_;
  if (stopped_) return;
  // Equal jitter: between half and all of the backoff, so that the daemons of a whole cluster
  // do not reconnect in step after an API server restart.
  auto delay = backoff_.next();
  std::uniform_int_distribution<long long> spread(delay.count() / 2, delay.count());
  reconnectAt_ = Clock::now() + std::chrono::milliseconds(spread(jitter_));
  armTimer();
}

void ApiClient::dispatch() {
  if (!connected()) return;
  std::vector<uint64_t> waiting;
  for (const auto& [id, call] : calls_) {
    if (call->connection == nullptr) waiting.push_back(id);
  }
  for (uint64_t id : waiting) {
    Call* call = find(id);
    if (call == nullptr || call->connection != nullptr) continue;
    if (!connected()) return;
    send(*call, *active_);
  }
}

void ApiClient::send(Call& call, ApiConnection& connection) {
  const Request& r = call.request;
  http2::Headers headers{{":method", r.method},          {":scheme", "https"},
                         {":authority", authority_},     {":path", config_.pathPrefix + r.path},
                         {"accept", "application/json"}, {"user-agent", options_.userAgent}};
  if (!r.body.empty()) headers.push_back({"content-type", r.contentType});
  const std::string& token = token_.current(Clock::now());
  if (!token.empty()) headers.push_back({"authorization", "Bearer " + token});
  if (connection.submit(call.id, headers, r.body)) call.connection = &connection;
}

void ApiClient::finish(uint64_t id, Response response) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls_.erase(it);
  if (call->connection != nullptr) call->connection->reset(id);
  if (response.status == 0) ++errors_;
  // The call is out of calls_ before its callback runs, which may make or cancel others.
  if (call->done) call->done(std::move(response));
}

void ApiClient::armTimer() {
  if (stopped_ && calls_.empty()) return;
  std::optional<Clock::time_point> next = reconnectAt_;
  for (const auto& [id, call] : calls_) {
    if (call->deadlineActive && (!next || call->deadline < *next)) next = call->deadline;
  }
  if (!next) return;
  if (timerOp_.pending()) {
    if (timerAt_ && *timerAt_ <= *next) return;
    rearm_ = true;  // onTimer arms it again, for the earlier time
    reactor_.cancel(timerOp_);
    return;
  }
  timerAt_ = next;
  reactor_.timeout(timerOp_, std::max(*next - Clock::now(), Clock::duration::zero()));
}

void ApiClient::onTimer(int res, uint32_t) noexcept {
  timerAt_.reset();
  bool wanted = std::exchange(rearm_, false);
  // Cancelled by stop() or Reactor::drain: nothing is to happen any more.
  if (res == -ECANCELED && !wanted) return;
  expire(Clock::now());
  armTimer();
}

void ApiClient::expire(Clock::time_point now) {
  if (reconnectAt_ && *reconnectAt_ <= now) {
    reconnectAt_.reset();
    connect();
  }
  std::vector<uint64_t> due;
  for (const auto& [id, call] : calls_) {
    if (call->deadlineActive && call->deadline <= now) due.push_back(id);
  }
  for (uint64_t id : due) {
    Call* call = find(id);
    if (call == nullptr) continue;
    std::string error;
    if (stopped_) {
      error = "stopped";
    } else if (call->connection == nullptr) {
      error = "no connection to " + config_.server + " within " + millis(call->limit) +
              (lastError_.empty() ? "" : ": " + lastError_);
    } else {
      error = "no answer from " + config_.server + " within " + millis(call->limit);
    }
    finish(id, {.status = 0, .body = {}, .error = std::move(error)});
  }
}

void ApiClient::requeue(Call& call) {
  call.resetAnswer();
}

void ApiClient::onConnectionReady(ApiConnection& connection) {
  if (&connection != active_.get()) return;
  up_ = true;
  backoff_.reset();
  lastError_.clear();
  ++connects_;
  dispatch();
}

void ApiClient::onConnectionGoAway(ApiConnection& connection) {
  if (&connection != active_.get()) return;
  lostActive();
  retired_.push_back(std::move(active_));
  // Its streams finish where they are; new ones go to a new connection, made now, unless the
  // server sends every new connection away at once: then it waits its backoff like a failure.
  if (connection.activeCalls() == 0) connection.close();
  if (Clock::now() - connection.readyAt() < kShortLived) {
    connectionFailed("GOAWAY from " + connection.peer() + " right after connecting");
  } else {
    connect();
  }
}

void ApiClient::onConnectionClosed(ApiConnection& connection, std::vector<uint64_t> calls) {
  bool wasActive = &connection == active_.get();
  if (wasActive) {
    lostActive();
    retired_.push_back(std::move(active_));
  }
  const std::string& error = connection.error();
  for (uint64_t id : calls) {
    Call* call = find(id);
    if (call == nullptr) continue;
    call->connection = nullptr;
    if (stopped_) {
      finish(id, {.status = 0, .body = {}, .error = "stopped"});
    } else if (!call->headersDone && call->idempotent()) {
      requeue(*call);
    } else {
      finish(id, {.status = 0, .body = {}, .error = error + " (before the whole answer)"});
    }
  }
  if (wasActive) connectionFailed(error);
  dispatch();
}

void ApiClient::onCallHeader(uint64_t id, std::string_view name, std::string_view value) {
  Call* call = find(id);
  if (call == nullptr || name != ":status") return;
  int status = 0;
  for (char c : value) {
    if (c < '0' || c > '9' || status > 999) return;
    status = status * 10 + (c - '0');
  }
  call->status = status;
}

void ApiClient::onCallHeadersDone(uint64_t id) {
  Call* call = find(id);
  if (call == nullptr) return;
  call->headersDone = true;
  // An established watch lives as long as the server keeps it.
  if (call->watch && success(call->status)) call->deadlineActive = false;
}

void ApiClient::onCallData(uint64_t id, std::string_view bytes) {
  Call* call = find(id);
  if (call == nullptr) return;
  if (call->watch && success(call->status)) {
    deliverLines(id, bytes);
    return;
  }
  if (call->body.size() + bytes.size() > options_.maxResponseBytes) {
    finish(id, {.status = 0,
                .body = {},
                .error = "response over " + std::to_string(options_.maxResponseBytes) + " bytes"});
    return;
  }
  call->body.append(bytes);
}

void ApiClient::deliverLines(uint64_t id, std::string_view bytes) {
  Call* call = find(id);
  // The buffer leaves the call while its lines are handed out: onLine may cancel the watch.
  std::string buffer = std::move(call->partialLine);
  buffer.append(bytes);
  size_t start = 0;
  for (size_t newline; (newline = buffer.find('\n', start)) != std::string::npos;) {
    std::string_view line(buffer.data() + start, newline - start);
    start = newline + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    OnLine onLine = std::move(call->onLine);
    if (onLine) onLine(line);
    call = find(id);
    if (call == nullptr) return;
    call->onLine = std::move(onLine);
  }
  buffer.erase(0, start);
  if (buffer.size() > options_.maxResponseBytes) {
    finish(id,
           {.status = 0,
            .body = {},
            .error = "watch event over " + std::to_string(options_.maxResponseBytes) + " bytes"});
    return;
  }
  call->partialLine = std::move(buffer);
}

void ApiClient::onCallEnded(uint64_t id, uint32_t errorCode) {
  Call* call = find(id);
  if (call == nullptr) return;
  ApiConnection* connection = std::exchange(call->connection, nullptr);
  if (errorCode == 0 && call->headersDone && call->status != 0) {
    if (call->status == 401 && !call->authRetried && token_.reload(Clock::now())) {
      // The token rotated since we sent it: once more with the new one.
      call->authRetried = true;
      requeue(*call);
      dispatch();
    } else if (call->watch && success(call->status)) {
      int status = call->status;
      if (!call->partialLine.empty()) deliverLines(id, "\n");  // a last event without newline
      finish(id, {.status = status, .body = {}, .error = {}});
    } else {
      int status = call->status;
      finish(id, {.status = status, .body = std::move(call->body), .error = {}});
    }
  } else if (!call->headersDone && errorCode == NGHTTP2_REFUSED_STREAM && !stopped_) {
    // Refused (GOAWAY, or too many streams): the server did not act on it. Again, elsewhere.
    requeue(*call);
    dispatch();
  } else {
    std::string why = errorCode != 0 ? "stream reset by the server (HTTP/2 error " +
                                           std::to_string(errorCode) + ")"
                                     : "the stream ended without an answer";
    finish(id, {.status = 0, .body = {}, .error = why});
  }
  if (connection != nullptr && connection->goingAway() && connection->activeCalls() == 0) {
    connection->close();
  }
}

}  // namespace udp::kubeapi
