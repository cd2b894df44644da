#pragma once

// One HTTP/2 connection over a connected stream socket: an nghttp2 session (server or client
// role) plus the socket's one recv and one send in flight on the reactor (DESIGN.md §4). It knows
// nothing about gRPC: requests, responses and trailers go up and down as headers and bytes.

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http2/headers.h"
#include "http2/stream_output.h"
#include "http2/transport.h"
#include "reactor/reactor.h"
#include "util/unique_fd.h"

namespace udp::http2 {

enum class Role { kServer, kClient };
enum class HeaderBlock { kRequest, kResponse, kTrailers };

// What the layer above hears. Every callback runs inside the connection's completion handling;
// the listener may call back into the connection (submit, reset, close) from any of them.
class ConnectionListener {
 public:
  virtual ~ConnectionListener() = default;
  virtual void onHeader(int32_t stream, HeaderBlock block, std::string_view name,
                        std::string_view value) = 0;
  // A complete header block; endStream when it carried END_STREAM.
  virtual void onHeadersDone(int32_t stream, HeaderBlock block, bool endStream) = 0;
  // With a receive window (ConnectionLimits::receiveWindow) the bytes count against it until the
  // listener calls Connection::consume for the stream.
  virtual void onData(int32_t stream, std::string_view bytes) = 0;
  virtual void onRemoteEnd(int32_t stream) = 0;  // END_STREAM on a DATA frame
  virtual void onStreamClosed(int32_t stream, uint32_t errorCode) = 0;
  // The connection is going away; no stream callback follows. Called once.
  virtual void onConnectionClosed() = 0;
  // With a Transport: its handshake is done and frames flow from now on.
  virtual void onTransportReady() {}
  // The peer sent GOAWAY: streams above `lastStreamId` were not processed (nghttp2 closes them
  // with REFUSED_STREAM) and no new stream will be; those at or below it still finish.
  virtual void onGoAway(int32_t /*lastStreamId*/, uint32_t /*errorCode*/) {}
};

struct ConnectionLimits {
  // Server role: streams beyond it are refused (RST_STREAM REFUSED_STREAM).
  uint32_t maxConcurrentStreams = 16;
  // Bytes queued for the peer on all streams together; a peer that stops reading hits it and
  // loses its connection instead of growing our memory.
  size_t maxQueuedBytes = 16 * 1024 * 1024;
  uint32_t maxHeaderListSize = 16 * 1024;
  // Server role, when > 0: request bytes received and not yet consumed (Connection::consume),
  // per stream and on the connection as a whole. The peer is flow-controlled at this bound
  // instead of our buffers growing with whatever it sends. 0: nghttp2 opens the window by itself.
  uint32_t receiveWindow = 0;
  // Server role: a peer that has not sent one complete request header block by then is closed.
  std::chrono::milliseconds requestTimeout{5000};
  // After closeGracefully or a protocol error: how long the peer has to take what is queued
  // (trailers, GOAWAY) before the socket is closed anyway.
  std::chrono::milliseconds drainTimeout{5000};
};

class Connection {
 public:
  // `parent`: the owner's scope, which then counts this connection's ops too.
  Connection(reactor::Reactor& reactor, UniqueFd fd, Role role, ConnectionListener& listener,
             ConnectionLimits limits = {}, reactor::OpScope* parent = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Before start(): the socket carries what `transport` makes of the frames (TLS). Frames wait
  // until its handshake is done; the listener hears onTransportReady() then.
  void setTransport(std::unique_ptr<Transport> transport);
  // Sends our SETTINGS (the first frame the peer sees) and starts reading.
  void start();

  // Response HEADERS; the stream stays open for data and trailers.
  bool submitResponseHeaders(int32_t stream, const Headers& headers);
  // A HEADERS frame with END_STREAM: trailers-only responses.
  bool submitHeadersAndEnd(int32_t stream, const Headers& headers);
  // Appends one message of body bytes for the stream (after submitResponseHeaders or
  // submitRequest); they are kept as they are, not copied again.
  bool queueData(int32_t stream, std::string bytes);
  // Appends one message made of `prefix` (copied; a few bytes of framing) and `body`, which is
  // not copied: one encoding of a large message serves every stream that sends it.
  bool queueShared(int32_t stream, std::string_view prefix,
                   std::shared_ptr<const std::string> body);
  // Bytes queued on the stream not yet taken by nghttp2.
  size_t queuedBytes(int32_t stream) const;
  // Drops queued bytes not yet taken by nghttp2 (a newer message supersedes them).
  void dropQueuedData(int32_t stream);
  // Ends the stream after its queued data: trailers with END_STREAM, or bare END_STREAM.
  bool finishStream(int32_t stream, const Headers& trailers);
  // Client role: a request whose body follows with queueData/finishStream, or, without `body`,
  // HEADERS with END_STREAM. Returns the stream id or a negative nghttp2 error.
  int32_t submitRequest(const Headers& headers, bool body = true);
  void resetStream(int32_t stream, uint32_t errorCode);

  // The listener is done with the stream's bytes received so far: the peer may send as many more.
  void consume(int32_t stream);
  // Request bytes received and not consumed, all streams together.
  size_t unconsumedBytes() const { return unconsumed_; }

  // Sends the trailers already submitted, then GOAWAY(NO_ERROR), then shuts our side and closes
  // when the peer does; closes anyway after drainTimeout.
  void closeGracefully();
  // Closes now.
  void close();
  bool closing() const { return closing_; }
  // Closed and no op in flight: the owner may free it (in its end-of-turn sweep).
  bool finished() const { return closing_ && scope_.idle(); }
  // Closed because no complete request arrived within requestTimeout.
  bool timedOut() const { return timedOut_; }
  // Why the connection closed other than by close(), in one line (the transport's error, "closed
  // by the peer", ...); empty otherwise.
  const std::string& error() const { return error_; }

  // Pulls frames out of nghttp2 and sends them when no send is in flight.
  void flush();

 private:
  void onRecv(int res, uint32_t flags) noexcept;
  void onSend(int res, uint32_t flags) noexcept;
  void armRecv();
  void onTimer(int res, uint32_t flags) noexcept;
  void armTimer();
  void resume(int32_t stream, StreamOutput& out);
  void closeIfDone();
  void fail(std::string why);
  bool pullFrames(std::string& out);
  bool goAwayWhenDrained();  // true if it submitted GOAWAY
  size_t totalQueued() const;
  StreamOutput* admit(int32_t stream, size_t bytes);

  // nghttp2 callbacks land here through one-line trampolines.
  friend struct SessionCallbacks;
  int onBeginHeaders(const nghttp2_frame& frame);
  int onHeaderField(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int onFrameRecv(const nghttp2_frame& frame);
  int onDataChunk(int32_t stream, std::string_view bytes);
  int onStreamClose(int32_t stream, uint32_t errorCode);
  long readData(int32_t stream, uint8_t* buf, size_t length, uint32_t* dataFlags);
  HeaderBlock blockOf(const nghttp2_frame& frame) const;

  reactor::Reactor& reactor_;
  UniqueFd fd_;
  Role role_;
  ConnectionListener& listener_;
  ConnectionLimits limits_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, StreamOutput> out_;
  // Received bytes per stream not consumed yet (receiveWindow > 0 only), and their sum.
  std::unordered_map<int32_t, size_t> unconsumedOf_;
  size_t unconsumed_ = 0;

  reactor::OpScope scope_;
  reactor::Op recvOp_{reactor::bindOp<&Connection::onRecv>(this, scope_)};
  reactor::Op sendOp_{reactor::bindOp<&Connection::onSend>(this, scope_)};
  // One timer for both deadlines below; it fires at the earlier one and re-arms for the other.
  reactor::Op timerOp_{reactor::bindOp<&Connection::onTimer>(this, scope_)};
  std::optional<std::chrono::steady_clock::time_point> requestDeadline_, drainDeadline_;
  // Owned by the kernel while recvOp_ / sendOp_ is pending.
  std::unique_ptr<uint8_t[]> recvBuf_;
  std::string sending_;
  size_t sendingOffset_ = 0;
  std::unique_ptr<Transport> transport_;
  std::string framesIn_, framesOut_;  // with a transport: the frames before / after it
  std::string error_;

  // Decoded size of the header block being received (RFC 9113 §6.5.2 counting); nghttp2 does
  // not enforce our SETTINGS_MAX_HEADER_LIST_SIZE itself.
  size_t headerListBytes_ = 0;
  int inSession_ = 0;  // > 0 while nghttp2 is running our callbacks
  bool closing_ = false;
  bool listenerTold_ = false;
  bool goingAway_ = false;  // closeGracefully: GOAWAY follows the trailers being sent
  bool lingering_ = false;  // all sent and our side shut: waiting for the peer to close
  bool timedOut_ = false;
};

}  // namespace udp::http2
