#pragma once

// One HTTP/2 connection over a connected stream socket: an nghttp2 session (server or client
// role) plus the socket's one recv and one send in flight on the reactor (DESIGN.md §4). It knows
// nothing about gRPC: requests, responses and trailers go up and down as headers and bytes.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reactor/reactor.h"
#include "util/unique_fd.h"

namespace udp::http2 {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

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
  virtual void onData(int32_t stream, std::string_view bytes) = 0;
  virtual void onRemoteEnd(int32_t stream) = 0;  // END_STREAM on a DATA frame
  virtual void onStreamClosed(int32_t stream, uint32_t errorCode) = 0;
  // The connection is going away; no stream callback follows. Called once.
  virtual void onConnectionClosed() = 0;
};

struct ConnectionLimits {
  uint32_t maxConcurrentStreams = 100;
  // Bytes queued for the peer on all streams together; a peer that stops reading hits it and
  // loses its connection instead of growing our memory.
  size_t maxQueuedBytes = 16 * 1024 * 1024;
  uint32_t maxHeaderListSize = 16 * 1024;
};

class Connection {
 public:
  // `parent`: the owner's scope, which then counts this connection's ops too.
  Connection(reactor::Reactor& reactor, UniqueFd fd, Role role, ConnectionListener& listener,
             ConnectionLimits limits = {}, reactor::OpScope* parent = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

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
  // Client role: a request whose body follows with queueData/finishStream. Returns the stream
  // id or a negative nghttp2 error.
  int32_t submitRequest(const Headers& headers);
  void resetStream(int32_t stream, uint32_t errorCode);

  // Sends GOAWAY(NO_ERROR) after what is queued, then closes.
  void closeGracefully();
  // Closes now.
  void close();
  bool closing() const { return closing_; }
  // Closed and no op in flight: the owner may free it (in its end-of-turn sweep).
  bool finished() const { return closing_ && scope_.idle(); }

  // Pulls frames out of nghttp2 and sends them when no send is in flight.
  void flush();

 private:
  // Queued bytes: our own copy, or a body shared with other streams (and the layer above).
  struct Piece {
    std::string owned;
    std::shared_ptr<const std::string> shared;
    size_t offset = 0;         // taken by nghttp2 so far
    bool endsMessage = false;  // the last piece of a message
    std::string_view bytes() const { return shared ? std::string_view(*shared) : owned; }
  };
  struct OutStream {
    // Taken pieces leave at once: a reader that is always behind must never make us hold what it
    // already has (one buffer that emptied only when fully drained held every partly sent list:
    // 13 MB for a 10 000-device ListAndWatch). Messages keep their boundaries for dropQueuedData.
    std::vector<Piece> pieces;
    size_t queued = 0;          // bytes in `pieces` not taken yet
    size_t takenOfMessage = 0;  // of the message at the front: > 0 once nghttp2 started it
    bool finishing = false;
    bool hasTrailers = false;
    Headers trailers;
    bool deferred = false;
  };

  void onRecv(int res, uint32_t flags) noexcept;
  void onSend(int res, uint32_t flags) noexcept;
  void armRecv();
  void resume(int32_t stream, OutStream& out);
  void closeIfDone();
  size_t totalQueued() const;
  bool admit(int32_t stream, size_t bytes, OutStream*& out);

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
  std::unordered_map<int32_t, OutStream> out_;

  reactor::OpScope scope_;
  reactor::Op recvOp_{reactor::bindOp<&Connection::onRecv>(this, scope_)};
  reactor::Op sendOp_{reactor::bindOp<&Connection::onSend>(this, scope_)};
  // Owned by the kernel while recvOp_ / sendOp_ is pending.
  std::unique_ptr<uint8_t[]> recvBuf_;
  std::string sending_;
  size_t sendingOffset_ = 0;

  // Decoded size of the header block being received (RFC 9113 §6.5.2 counting); nghttp2 does
  // not enforce our SETTINGS_MAX_HEADER_LIST_SIZE itself.
  size_t headerListBytes_ = 0;
  int inSession_ = 0;  // > 0 while nghttp2 is running our callbacks
  bool closing_ = false;
  bool listenerTold_ = false;
};

}  // namespace udp::http2
