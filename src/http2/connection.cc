#include "http2/connection.h"

#include <errno.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

#include "http2/nghttp2_compat.h"

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

  int rc = role == Role::kServer ? nghttp2_session_server_new2(&session_, cbs, this, opt)
                                 : nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rc != 0) abort();
}

Connection::~Connection() {
  nghttp2_session_del(session_);
}

void Connection::start() {
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.maxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.maxHeaderListSize},
  };
  size_t n = role_ == Role::kServer ? 2 : 0;
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, n);
  armRecv();
  flush();
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
    close();
    return;
  }
  ++inSession_;
  Nghttp2Ssize consumed = memRecv(session_, recvBuf_.get(), static_cast<size_t>(res));
  --inSession_;
  if (consumed < 0) {
    // A protocol error: nghttp2 has queued GOAWAY; send it, then close.
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    flush();
    close();
    return;
  }
  armRecv();
  flush();
  closeIfDone();
}

void Connection::flush() {
  // nghttp2 must not be re-entered from its own callbacks; onRecv flushes once memRecv returns.
  if (closing_ || sendOp_.pending() || inSession_ > 0) return;
  sending_.clear();
  sendingOffset_ = 0;
  while (sending_.size() < kSendChunk) {
    const uint8_t* data = nullptr;
    ++inSession_;
    Nghttp2Ssize n = memSend(session_, &data);
    --inSession_;
    if (n < 0) {
      close();
      return;
    }
    if (n == 0) break;
    sending_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (sending_.empty()) {
    closeIfDone();
    return;
  }
  // sending_ belongs to sendOp_ until its completion arrives; nothing appends to it meanwhile.
  reactor_.send(sendOp_, fd_.get(), sending_.data(), sending_.size());
}

void Connection::onSend(int res, uint32_t) noexcept {
  if (closing_) return;
  if (res == -EINTR || res == -EAGAIN) res = 0;
  if (res < 0) {
    close();
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
  if (closing_) return;
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      !sendOp_.pending()) {
    close();
  }
}

void Connection::closeGracefully() {
  if (closing_) return;
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  flush();
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
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
    listener_.onHeadersDone(frame.hd.stream_id, blockOf(frame), endStream);
  } else if (frame.hd.type == NGHTTP2_DATA && endStream) {
    listener_.onRemoteEnd(frame.hd.stream_id);
  }
  return 0;
}

int Connection::onDataChunk(int32_t stream, std::string_view bytes) {
  if (closing_) return 0;
  listener_.onData(stream, bytes);
  return 0;
}

int Connection::onStreamClose(int32_t stream, uint32_t errorCode) {
  out_.erase(stream);
  if (!closing_) listener_.onStreamClosed(stream, errorCode);
  return 0;
}

long Connection::readData(int32_t stream, uint8_t* buf, size_t length, uint32_t* dataFlags) {
  auto it = out_.find(stream);
  if (it == out_.end()) {
    *dataFlags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  OutStream& out = it->second;
  size_t n = 0;
  size_t taken = 0;  // whole pieces taken, erased together below
  for (; taken < out.pieces.size() && n < length; ++taken) {
    Piece& piece = out.pieces[taken];
    std::string_view bytes = piece.bytes().substr(piece.offset);
    size_t take = std::min(bytes.size(), length - n);
    memcpy(buf + n, bytes.data(), take);
    n += take;
    piece.offset += take;
    out.takenOfMessage += take;
    if (piece.offset < piece.bytes().size()) break;
    if (piece.endsMessage) out.takenOfMessage = 0;
  }
  // A shared body goes back to its owner (and is freed with its last stream) once taken.
  out.pieces.erase(out.pieces.begin(), out.pieces.begin() + static_cast<ptrdiff_t>(taken));
  out.queued -= n;
  if (out.queued == 0) {
    if (out.finishing) {
      *dataFlags |= NGHTTP2_DATA_FLAG_EOF;
      if (out.hasTrailers) {
        *dataFlags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nv = toNv(out.trailers);
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

int32_t Connection::submitRequest(const Headers& headers) {
  if (closing_) return -1;
  std::vector<nghttp2_nv> nv = toNv(headers);
  Nghttp2DataProvider provider{};
  UDP_NGHTTP2_SET_READ_CALLBACK(provider, SessionCallbacks::read);
  int32_t stream = http2::submitRequest(session_, nv.data(), nv.size(), &provider, nullptr);
  if (stream < 0) return stream;
  out_[stream];
  flush();
  return stream;
}

size_t Connection::totalQueued() const {
  size_t total = 0;
  for (const auto& [id, out] : out_) total += out.queued;
  return total;
}

bool Connection::admit(int32_t stream, size_t bytes, OutStream*& out) {
  auto it = out_.find(stream);
  if (closing_ || it == out_.end() || it->second.finishing) return false;
  if (totalQueued() + bytes > limits_.maxQueuedBytes) {
    // The peer is not reading. Dropping it is the only bound that keeps every other client
    // served.
    close();
    return false;
  }
  out = &it->second;
  return true;
}

bool Connection::queueData(int32_t stream, std::string bytes) {
  OutStream* out = nullptr;
  if (!admit(stream, bytes.size(), out)) return false;
  out->queued += bytes.size();
  out->pieces.push_back({std::move(bytes), nullptr, 0, true});
  resume(stream, *out);
  return true;
}

bool Connection::queueShared(int32_t stream, std::string_view prefix,
                             std::shared_ptr<const std::string> body) {
  OutStream* out = nullptr;
  if (!admit(stream, prefix.size() + body->size(), out)) return false;
  out->queued += prefix.size() + body->size();
  out->pieces.push_back({std::string(prefix), nullptr, 0, false});
  out->pieces.push_back({std::string(), std::move(body), 0, true});
  resume(stream, *out);
  return true;
}

size_t Connection::queuedBytes(int32_t stream) const {
  auto it = out_.find(stream);
  return it == out_.end() ? 0 : it->second.queued;
}

void Connection::dropQueuedData(int32_t stream) {
  auto it = out_.find(stream);
  if (it == out_.end()) return;
  OutStream& out = it->second;
  // Never cut a message in half: keep the one nghttp2 has started and drop every message after
  // it. Dropping nothing once a message was partly sent let a peer with a small window or a full
  // socket make every update pile up until the 16 MiB bound closed it: no coalescing, and
  // 16-32 MiB held per stuck ListAndWatch.
  size_t keep = 0;
  if (out.takenOfMessage > 0) {
    while (keep < out.pieces.size() && !out.pieces[keep++].endsMessage) {
    }
  }
  for (size_t i = keep; i < out.pieces.size(); ++i) {
    out.queued -= out.pieces[i].bytes().size() - out.pieces[i].offset;
  }
  out.pieces.erase(out.pieces.begin() + static_cast<ptrdiff_t>(keep), out.pieces.end());
}

bool Connection::finishStream(int32_t stream, const Headers& trailers) {
  auto it = out_.find(stream);
  if (closing_ || it == out_.end() || it->second.finishing) return false;
  it->second.finishing = true;
  it->second.hasTrailers = !trailers.empty();
  it->second.trailers = trailers;
  resume(stream, it->second);
  return true;
}

void Connection::resume(int32_t stream, OutStream& out) {
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
