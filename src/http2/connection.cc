#include "http2/connection.h"

#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "http2/nghttp2_compat.h"
#include "util/spare_capacity.h"

namespace udp::http2 {
namespace {

constexpr size_t kRecvBufferSize = 16 * 1024;
// What we pull out of nghttp2 for one send: enough to fill a socket buffer in one syscall,
// small enough to bound the copy a slow peer keeps us holding.
constexpr size_t kSendChunk = 64 * 1024;

std::vector<nghttp2_nv> toNv(const Headers& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size());
  for (const Header& h : headers) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(),
                  h.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

Connection& self(void* userData) {
  return *static_cast<Connection*>(userData);
}

}  // namespace

// Trampolines: nghttp2 calls C functions; each forwards to the member that does the work.
struct SessionCallbacks {
  static int beginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return self(user).onBeginHeaders(*frame);
  }
  static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t nameLen, const uint8_t* value, size_t valueLen, uint8_t, void* user) {
    return self(user).onHeaderField(*frame, {reinterpret_cast<const char*>(name), nameLen},
                                    {reinterpret_cast<const char*>(value), valueLen});
  }
  static int frameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return self(user).onFrameRecv(*frame);
  }
  static int dataChunk(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t len,
                       void* user) {
    return self(user).onDataChunk(stream, {reinterpret_cast<const char*>(data), len});
  }
  static int streamClose(nghttp2_session*, int32_t stream, uint32_t errorCode, void* user) {
    return self(user).onStreamClose(stream, errorCode);
  }
  static Nghttp2Ssize read(nghttp2_session*, int32_t stream, uint8_t* buf, size_t length,
                           uint32_t* dataFlags, nghttp2_data_source*, void* user) {
    return self(user).readData(stream, buf, length, dataFlags);
  }
};

Connection::Connection(reactor::Reactor& reactor, UniqueFd fd, Role role,
                       ConnectionListener& listener, ConnectionLimits limits,
                       reactor::OpScope* parent)
    : reactor_(reactor),
      fd_(std::move(fd)),
      role_(role),
      listener_(listener),
      limits_(limits),
      scope_(parent),
      recvBuf_(new uint8_t[kRecvBufferSize]) {
  nghttp2_session_callbacks* cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) abort();  // OOM is fatal
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, SessionCallbacks::beginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, SessionCallbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, SessionCallbacks::frameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, SessionCallbacks::dataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, SessionCallbacks::streamClose);

  nghttp2_option* opt;
  if (nghttp2_option_new(&opt) != 0) abort();
  // nghttp2's HTTP messaging checks reject a '/' in :authority, which kubelets before 1.26
  // send (the socket path). The gRPC layer validates the request headers itself.
  nghttp2_option_set_no_http_messaging(opt, 1);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_settings(opt, 32);
  // Rapid reset (CVE-2023-44487): bound how fast a peer may open and cancel streams.
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 100);
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
  // Received bytes are ours to hold until consume(): the window, not the peer, bounds them.
  if (role == Role::kServer && limits_.receiveWindow > 0) {
    nghttp2_option_set_no_auto_window_update(opt, 1);
  }

  int rc = role == Role::kServer ? nghttp2_session_server_new2(&session_, cbs, this, opt)
                                 : nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rc != 0) abort();
}

Connection::~Connection() {
  nghttp2_session_del(session_);
}

void Connection::setTransport(std::unique_ptr<Transport> transport) {
  transport_ = std::move(transport);
}

void Connection::start() {
  std::vector<nghttp2_settings_entry> settings;
  if (role_ == Role::kServer) {
    settings.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.maxConcurrentStreams});
    settings.push_back({NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.maxHeaderListSize});
    if (limits_.receiveWindow > 0) {
      settings.push_back({NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.receiveWindow});
    }
  }
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  if (role_ == Role::kServer && limits_.receiveWindow > 0) {
    // The connection's window starts at 65 535 whatever SETTINGS say; one request message of
    // receiveWindow bytes must fit in it too.
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(limits_.receiveWindow));
  }
  if (role_ == Role::kServer && limits_.requestTimeout.count() > 0) {
    requestDeadline_ = std::chrono::steady_clock::now() + limits_.requestTimeout;
    armTimer();
  }
  if (transport_) {
    if (auto r = transport_->start(); !r) {
      fail(r.error().message);
      return;
    }
  }
  armRecv();
  flush();
}

void Connection::armTimer() {
  if (closing_ || timerOp_.pending()) return;
  std::optional<std::chrono::steady_clock::time_point> at;
  for (const auto& deadline : {requestDeadline_, drainDeadline_}) {
    if (deadline && (!at || *deadline < *at)) at = deadline;
  }
  if (!at) return;
  reactor_.timeout(timerOp_, std::max(*at - std::chrono::steady_clock::now(),
                                      std::chrono::steady_clock::duration::zero()));
}

void Connection::onTimer(int, uint32_t) noexcept {
  if (closing_) return;
  auto now = std::chrono::steady_clock::now();
  if (requestDeadline_ && now >= *requestDeadline_) {
    timedOut_ = true;
    close();
    return;
  }
  if (drainDeadline_ && now >= *drainDeadline_) {
    close();
    return;
  }
  armTimer();  // fired for a deadline since lifted, or early: wait for the next one
}

void Connection::armRecv() {
  if (closing_ || recvOp_.pending()) return;
  // recvBuf_ belongs to recvOp_ until its completion arrives.
  reactor_.recv(recvOp_, fd_.get(), recvBuf_.get(), kRecvBufferSize);
}

void Connection::onRecv(int res, uint32_t) noexcept {
  if (closing_) return;
  if (res == -EINTR || res == -EAGAIN) {
    armRecv();
    return;
  }
  if (res <= 0) {
    fail(res == 0 ? "closed by the peer" : std::string("recv: ") + strerror(-res));
    return;
  }
  if (lingering_) {
    armRecv();  // what the peer sends after our GOAWAY is read and dropped
    return;
  }
  std::string_view input(reinterpret_cast<const char*>(recvBuf_.get()), static_cast<size_t>(res));
  if (transport_) {
    bool wasReady = transport_->ready();
    framesIn_.clear();
    if (auto r = transport_->receive(input, framesIn_); !r) {
      fail(r.error().message);
      return;
    }
    input = framesIn_;
    if (!wasReady && transport_->ready()) {
      listener_.onTransportReady();
      if (closing_) return;
    }
  }
  Nghttp2Ssize consumed = 0;
  if (!input.empty()) {
    ++inSession_;
    consumed = memRecv(session_, reinterpret_cast<const uint8_t*>(input.data()), input.size());
    --inSession_;
  }
  if (transport_) {
    framesIn_.clear();  // nghttp2 copied what it keeps
    releaseSpareCapacity(framesIn_);
  }
  if (consumed < 0) {
    if (error_.empty())
      error_ = std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(consumed));
    // A protocol error: GOAWAY goes out, then the socket closes (closeIfDone: nghttp2 wants
    // neither read nor write after it). Closing here at once lost it: the send was still in
    // flight when shutdown() ran.
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    drainDeadline_ = std::chrono::steady_clock::now() + limits_.drainTimeout;
    armTimer();
    flush();
    return;
  }
  armRecv();
  flush();
  closeIfDone();
}

void Connection::flush() {
  // nghttp2 must not be re-entered from its own callbacks; onRecv flushes once memRecv returns.
  if (closing_ || lingering_ || sendOp_.pending() || inSession_ > 0) return;
  sending_.clear();
  sendingOffset_ = 0;
  if (transport_ == nullptr) {
    if (!pullFrames(sending_)) return;
  } else {
    // Frames wait in nghttp2 until the handshake is done; the handshake's bytes go first.
    if (transport_->ready()) {
      framesOut_.clear();
      if (!pullFrames(framesOut_)) return;
      if (auto r = transport_->send(framesOut_); !r) {
        fail(r.error().message);
        return;
      }
    }
    transport_->takeOutput(sending_);
  }
  if (sending_.empty()) {
    releaseSpareCapacity(sending_);
    releaseSpareCapacity(framesOut_);
    closeIfDone();
    return;
  }
  // sending_ belongs to sendOp_ until its completion arrives; nothing appends to it meanwhile.
  reactor_.send(sendOp_, fd_.get(), sending_.data(), sending_.size());
}

bool Connection::pullFrames(std::string& out) {
  while (out.size() < kSendChunk) {
    const uint8_t* data = nullptr;
    ++inSession_;
    Nghttp2Ssize n = memSend(session_, &data);
    --inSession_;
    if (n < 0) {
      fail(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
      return false;
    }
    if (n == 0) {
      // The data provider may just have handed over the last trailers.
      if (goAwayWhenDrained()) continue;
      break;
    }
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return true;
}

void Connection::onSend(int res, uint32_t) noexcept {
  if (closing_) return;
  if (res == -EINTR || res == -EAGAIN) res = 0;
  if (res < 0) {
    fail(std::string("send: ") + strerror(-res));
    return;
  }
  sendingOffset_ += static_cast<size_t>(res);
  if (sendingOffset_ < sending_.size()) {
    reactor_.send(sendOp_, fd_.get(), sending_.data() + sendingOffset_,
                  sending_.size() - sendingOffset_);
    return;
  }
  flush();
}

void Connection::closeIfDone() {
  if (closing_ || lingering_) return;
  if (nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_) ||
      sendOp_.pending()) {
    return;
  }
  // All we had to say is out, GOAWAY last. Only our side closes now: a peer still writing (a
  // WINDOW_UPDATE for the last DATA) to a socket closed both ways got EPIPE and, for grpc++,
  // failed its streams with UNAVAILABLE before it read the trailers already in its buffer. We
  // read and drop until the peer closes too, or the drain deadline passes.
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  if (!drainDeadline_) drainDeadline_ = std::chrono::steady_clock::now() + limits_.drainTimeout;
  armTimer();
  armRecv();
}

void Connection::closeGracefully() {
  if (closing_ || drainDeadline_) return;
  goingAway_ = true;
  drainDeadline_ = std::chrono::steady_clock::now() + limits_.drainTimeout;
  armTimer();
  goAwayWhenDrained();
  flush();
}

bool Connection::goAwayWhenDrained() {
  // nghttp2 sends control frames (GOAWAY among them) before DATA, and a stream's trailers are
  // submitted only when its data provider runs dry: a GOAWAY submitted with trailers still to
  // come went out first and, terminating the session, took them with it (SIGTERM ended every
  // ListAndWatch without grpc-status). So GOAWAY waits until nghttp2 holds every finishing
  // stream's trailers; it queues them and GOAWAY in the order submitted.
  if (!goingAway_ || closing_) return false;
  if (std::any_of(out_.begin(), out_.end(),
                  [](const auto& s) { return s.second.finishing() && !s.second.ended; })) {
    return false;
  }
  goingAway_ = false;
  return nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR) == 0;
}

void Connection::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  close();
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
  if (timerOp_.pending()) reactor_.cancel(timerOp_);
  // Pending recv/send complete promptly after shutdown; the fd is closed only when the owner
  // frees us, after both completions, so the kernel never sees a reused fd number.
  ::shutdown(fd_.get(), SHUT_RDWR);
  if (!listenerTold_) {
    listenerTold_ = true;
    listener_.onConnectionClosed();
  }
}

HeaderBlock Connection::blockOf(const nghttp2_frame& frame) const {
  switch (frame.headers.cat) {
    case NGHTTP2_HCAT_REQUEST:
      return HeaderBlock::kRequest;
    case NGHTTP2_HCAT_RESPONSE:
      return HeaderBlock::kResponse;
    default:
      return HeaderBlock::kTrailers;
  }
}

int Connection::onBeginHeaders(const nghttp2_frame&) {
  headerListBytes_ = 0;  // header blocks never interleave, so one counter serves all streams
  return 0;
}

int Connection::onHeaderField(const nghttp2_frame& frame, std::string_view name,
                              std::string_view value) {
  if (frame.hd.type != NGHTTP2_HEADERS || closing_) return 0;
  // nghttp2 only advertises SETTINGS_MAX_HEADER_LIST_SIZE; without this check a few KiB of
  // HPACK references (an "HPACK bomb") decode into an unbounded header list. Over the limit the
  // stream is reset (RST_STREAM INTERNAL_ERROR) and the rest of the block is not delivered.
  headerListBytes_ += name.size() + value.size() + 32;
  if (role_ == Role::kServer && headerListBytes_ > limits_.maxHeaderListSize) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  listener_.onHeader(frame.hd.stream_id, blockOf(frame), name, value);
  return 0;
}

int Connection::onFrameRecv(const nghttp2_frame& frame) {
  if (closing_) return 0;
  bool endStream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame.hd.type == NGHTTP2_HEADERS) {
    if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) requestDeadline_.reset();
    listener_.onHeadersDone(frame.hd.stream_id, blockOf(frame), endStream);
  } else if (frame.hd.type == NGHTTP2_DATA && endStream) {
    listener_.onRemoteEnd(frame.hd.stream_id);
  } else if (frame.hd.type == NGHTTP2_GOAWAY) {
    listener_.onGoAway(frame.goaway.last_stream_id, frame.goaway.error_code);
  }
  return 0;
}

int Connection::onDataChunk(int32_t stream, std::string_view bytes) {
  if (closing_) return 0;
  if (role_ == Role::kServer && limits_.receiveWindow > 0) {
    unconsumedOf_[stream] += bytes.size();
    unconsumed_ += bytes.size();
  }
  listener_.onData(stream, bytes);
  return 0;
}

void Connection::consume(int32_t stream) {
  auto it = unconsumedOf_.find(stream);
  if (it == unconsumedOf_.end()) return;
  size_t n = it->second;
  unconsumedOf_.erase(it);
  unconsumed_ -= n;
  nghttp2_session_consume(session_, stream, n);
  flush();  // the WINDOW_UPDATE; deferred to the end of memRecv when called from a callback
}

int Connection::onStreamClose(int32_t stream, uint32_t errorCode) {
  out_.erase(stream);
  if (auto it = unconsumedOf_.find(stream); it != unconsumedOf_.end()) {
    // The stream's share of the connection window comes back with it.
    unconsumed_ -= it->second;
    nghttp2_session_consume_connection(session_, it->second);
    unconsumedOf_.erase(it);
  }
  if (!closing_) listener_.onStreamClosed(stream, errorCode);
  goAwayWhenDrained();
  return 0;
}

long Connection::readData(int32_t stream, uint8_t* buf, size_t length, uint32_t* dataFlags) {
  auto it = out_.find(stream);
  if (it == out_.end()) {
    *dataFlags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  StreamOutput& out = it->second;
  size_t n = out.take(buf, length);
  if (out.queued() == 0) {
    if (out.finishing()) {
      *dataFlags |= NGHTTP2_DATA_FLAG_EOF;
      out.ended = true;
      if (!out.trailers().empty()) {
        *dataFlags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nv = toNv(out.trailers());
        if (nghttp2_submit_trailer(session_, stream, nv.data(), nv.size()) != 0) {
          return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
      }
      return static_cast<long>(n);
    }
    if (n == 0) {
      out.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<long>(n);
}

bool Connection::submitResponseHeaders(int32_t stream, const Headers& headers) {
  if (closing_) return false;
  std::vector<nghttp2_nv> nv = toNv(headers);
  out_[stream];
  Nghttp2DataProvider provider{};
  UDP_NGHTTP2_SET_READ_CALLBACK(provider, SessionCallbacks::read);
  if (submitResponse(session_, stream, nv.data(), nv.size(), &provider) != 0) {
    out_.erase(stream);
    return false;
  }
  flush();
  return true;
}

bool Connection::submitHeadersAndEnd(int32_t stream, const Headers& headers) {
  if (closing_) return false;
  std::vector<nghttp2_nv> nv = toNv(headers);
  if (nghttp2_submit_headers(session_, NGHTTP2_FLAG_END_STREAM, stream, nullptr, nv.data(),
                             nv.size(), nullptr) != 0) {
    return false;
  }
  flush();
  return true;
}

int32_t Connection::submitRequest(const Headers& headers, bool body) {
  if (closing_) return -1;
  std::vector<nghttp2_nv> nv = toNv(headers);
  Nghttp2DataProvider provider{};
  UDP_NGHTTP2_SET_READ_CALLBACK(provider, SessionCallbacks::read);
  int32_t stream =
      http2::submitRequest(session_, nv.data(), nv.size(), body ? &provider : nullptr, nullptr);
  if (stream < 0) return stream;
  if (body) out_[stream];
  flush();
  return stream;
}

size_t Connection::totalQueued() const {
  size_t total = 0;
  for (const auto& [id, out] : out_) total += out.queued();
  return total;
}

StreamOutput* Connection::admit(int32_t stream, size_t bytes) {
  auto it = out_.find(stream);
  if (closing_ || it == out_.end() || it->second.finishing()) return nullptr;
  if (totalQueued() + bytes > limits_.maxQueuedBytes) {
    // The peer is not reading. Dropping it is the only bound that keeps every other client
    // served.
    fail("the peer is not reading: over " + std::to_string(limits_.maxQueuedBytes) +
         " bytes queued");
    return nullptr;
  }
  return &it->second;
}

bool Connection::queueData(int32_t stream, std::string bytes) {
  StreamOutput* out = admit(stream, bytes.size());
  if (out == nullptr) return false;
  out->append(std::move(bytes));
  resume(stream, *out);
  return true;
}

bool Connection::queueShared(int32_t stream, std::string_view prefix,
                             std::shared_ptr<const std::string> body) {
  StreamOutput* out = admit(stream, prefix.size() + body->size());
  if (out == nullptr) return false;
  out->appendShared(prefix, std::move(body));
  resume(stream, *out);
  return true;
}

size_t Connection::queuedBytes(int32_t stream) const {
  auto it = out_.find(stream);
  return it == out_.end() ? 0 : it->second.queued();
}

void Connection::dropQueuedData(int32_t stream) {
  auto it = out_.find(stream);
  if (it != out_.end()) it->second.dropUnstarted();
}

bool Connection::finishStream(int32_t stream, const Headers& trailers) {
  auto it = out_.find(stream);
  if (closing_ || it == out_.end() || it->second.finishing()) return false;
  it->second.finish(trailers);
  resume(stream, it->second);
  return true;
}

void Connection::resume(int32_t stream, StreamOutput& out) {
  if (out.deferred) {
    out.deferred = false;
    nghttp2_session_resume_data(session_, stream);
  }
  flush();
}

void Connection::resetStream(int32_t stream, uint32_t errorCode) {
  if (closing_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, errorCode);
  flush();
}

}  // namespace udp::http2
