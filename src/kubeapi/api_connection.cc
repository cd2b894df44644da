#include "kubeapi/api_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "tls/client_session.h"

namespace udp::kubeapi {
namespace {

// http2::Connection's view of a TLS client session.
class TlsTransport final : public http2::Transport {
 public:
  explicit TlsTransport(std::unique_ptr<tls::ClientSession> session)
      : session_(std::move(session)) {}
  Result<void> start() override { return session_->start(); }
  Result<void> receive(std::string_view wire, std::string& frames) override {
    return session_->receive(wire, frames);
  }
  Result<void> send(std::string_view frames) override { return session_->send(frames); }
  void takeOutput(std::string& wire) override { session_->takeOutput(wire); }
  bool ready() const override { return session_->established(); }

 private:
  std::unique_ptr<tls::ClientSession> session_;
};

// A server gone silent (a node powered off, a partition) shows no error by itself: with an idle
// watch nothing would ever fail. Keepalive probes after 30 s of silence, and a 30 s limit on
// unacknowledged data, turn it into a closed connection within about a minute.
void setSocketOptions(int fd) {
  int one = 1;
  int idle = 30, interval = 10, count = 3;
  unsigned int userTimeout = 30000;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &userTimeout, sizeof userTimeout);
}

}  // namespace

ApiConnection::ApiConnection(reactor::Reactor& reactor, ApiConnectionEvents& events,
                             ApiConnectionOptions options, reactor::OpScope* parent)
    : reactor_(reactor), events_(events), options_(std::move(options)), scope_(parent) {}

ApiConnection::~ApiConnection() = default;

std::string ApiConnection::peer() const {
  if (options_.addresses.empty()) return "?";
  size_t i = nextAddress_ == 0 ? 0 : nextAddress_ - 1;
  return options_.addresses[std::min(i, options_.addresses.size() - 1)].text();
}

void ApiConnection::start() {
  reactor_.timeout(timerOp_, options_.connectTimeout);
  tryNextAddress();
}

void ApiConnection::tryNextAddress() {
  if (closed_) return;
  if (nextAddress_ >= options_.addresses.size()) {
    fail(error_.empty() ? "no address to connect to" : error_);
    return;
  }
  const SocketAddress& address = options_.addresses[nextAddress_++];
  socket_ = UniqueFd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket_.valid()) {
    error_ = "socket: " + std::string(strerror(errno));
    tryNextAddress();
    return;
  }
  setSocketOptions(socket_.get());
  // The address lives in options_, untouched until connectOp_ completes.
  reactor_.connect(connectOp_, socket_.get(), address.get(), address.length);
}

void ApiConnection::onConnect(int res, uint32_t) noexcept {
  if (closed_) return;
  if (res < 0) {
    error_ = "connect " + peer() + ": " +
             (res == -ECANCELED ? std::string("timed out") : std::string(strerror(-res)));
    socket_.reset();
    if (res == -ECANCELED) {
      fail(error_);
      return;
    }
    tryNextAddress();
    return;
  }
  auto session = tls::ClientSession::create(options_.tls, options_.serverName);
  if (!session) {
    fail(session.error().message);
    return;
  }
  connection_ = std::make_unique<http2::Connection>(
      reactor_, std::move(socket_), http2::Role::kClient,
      static_cast<http2::ConnectionListener&>(*this), http2::ConnectionLimits{}, &scope_);
  connection_->setTransport(std::make_unique<TlsTransport>(std::move(*session)));
  connection_->start();
}

void ApiConnection::onTimer(int res, uint32_t) noexcept {
  if (res == -ECANCELED || closed_ || ready_) return;
  if (connectOp_.pending()) {
    reactor_.cancel(connectOp_);  // onConnect reports the timeout
    return;
  }
  fail("connect " + peer() + ": no TLS handshake within " +
       std::to_string(options_.connectTimeout.count()) + " ms");
}

void ApiConnection::onTransportReady() {
  ready_ = true;
  readyAt_ = std::chrono::steady_clock::now();
  if (timerOp_.pending()) reactor_.cancel(timerOp_);
  events_.onConnectionReady(*this);
}

bool ApiConnection::submit(uint64_t call, const http2::Headers& headers, std::string body) {
  if (!ready() || goingAway_) return false;
  bool hasBody = !body.empty();
  int32_t stream = connection_->submitRequest(headers, hasBody);
  if (stream < 0) return false;
  if (hasBody) {
    connection_->queueData(stream, std::move(body));
    connection_->finishStream(stream, {});
  }
  callOf_[stream] = call;
  streamOf_[call] = stream;
  return true;
}

void ApiConnection::reset(uint64_t call) {
  auto it = streamOf_.find(call);
  if (it == streamOf_.end()) return;
  int32_t stream = it->second;
  streamOf_.erase(it);
  callOf_.erase(stream);
  if (connection_) connection_->resetStream(stream, NGHTTP2_CANCEL);
}

void ApiConnection::close() {
  fail("closed");
}

void ApiConnection::fail(std::string why) {
  if (closed_) return;
  closed_ = true;
  error_ = std::move(why);
  if (timerOp_.pending()) reactor_.cancel(timerOp_);
  if (connectOp_.pending()) reactor_.cancel(connectOp_);
  if (connection_) connection_->close();
  std::vector<uint64_t> calls;
  calls.reserve(callOf_.size());
  for (const auto& [stream, call] : callOf_) calls.push_back(call);
  callOf_.clear();
  streamOf_.clear();
  events_.onConnectionClosed(*this, std::move(calls));
}

void ApiConnection::onConnectionClosed() {
  std::string why = connection_ && !connection_->error().empty() ? connection_->error() : "closed";
  fail(ready_ ? "connection to " + peer() + " lost: " + why : why);
}

void ApiConnection::onGoAway(int32_t, uint32_t) {
  if (goingAway_) return;
  goingAway_ = true;
  events_.onConnectionGoAway(*this);
}

void ApiConnection::onHeader(int32_t stream, http2::HeaderBlock block, std::string_view name,
                             std::string_view value) {
  if (block != http2::HeaderBlock::kResponse) return;  // trailers say nothing we use
  if (auto it = callOf_.find(stream); it != callOf_.end()) {
    events_.onCallHeader(it->second, name, value);
  }
}

void ApiConnection::onHeadersDone(int32_t stream, http2::HeaderBlock block, bool endStream) {
  auto it = callOf_.find(stream);
  if (it == callOf_.end()) return;
  if (block == http2::HeaderBlock::kResponse) events_.onCallHeadersDone(it->second);
  if (endStream) endCall(stream, 0);
}

void ApiConnection::onData(int32_t stream, std::string_view bytes) {
  if (auto it = callOf_.find(stream); it != callOf_.end()) events_.onCallData(it->second, bytes);
}

void ApiConnection::onRemoteEnd(int32_t stream) {
  endCall(stream, 0);
}

void ApiConnection::onStreamClosed(int32_t stream, uint32_t errorCode) {
  endCall(stream, errorCode);
}

void ApiConnection::endCall(int32_t stream, uint32_t errorCode) {
  auto it = callOf_.find(stream);
  if (it == callOf_.end()) return;
  uint64_t call = it->second;
  callOf_.erase(it);
  streamOf_.erase(call);
  events_.onCallEnded(call, errorCode);
}

}  // namespace udp::kubeapi
