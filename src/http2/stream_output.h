#pragma once

// What one stream has queued for the peer and nghttp2 has not taken yet: whole messages, each
// our own copy or a body shared with other streams, and how the stream ends. Pure: no nghttp2,
// no I/O; http2::Connection's data provider takes bytes from it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http2/headers.h"

namespace udp::http2 {

class StreamOutput {
 public:
  // One message, kept as it is.
  void append(std::string message);
  // One message made of `prefix` (copied; a few bytes of framing) and `body`, which is shared.
  void appendShared(std::string_view prefix, std::shared_ptr<const std::string> body);
  // Copies up to `length` queued bytes into `buf`; returns how many.
  size_t take(uint8_t* buf, size_t length);
  // Drops every message the peer has not started to receive; a message partly taken stays whole.
  void dropUnstarted();
  // No more messages: the stream ends after them, with `trailers` (none: a bare END_STREAM).
  void finish(Headers trailers);

  size_t queued() const { return queued_; }
  bool finishing() const { return finishing_; }
  const Headers& trailers() const { return trailers_; }

  // nghttp2 was told the stream has nothing to send (NGHTTP2_ERR_DEFERRED) and must be resumed
  // when something is queued. Owned by Connection; kept here so one lookup finds both.
  bool deferred = false;
  // nghttp2 has taken the last byte and the end (END_STREAM or the trailers, now queued in it).
  bool ended = false;

 private:
  // Queued bytes: our own copy, or a body shared with other streams (and the layer above).
  struct Piece {
    std::string owned;
    std::shared_ptr<const std::string> shared;
    size_t offset = 0;         // taken so far
    bool endsMessage = false;  // the last piece of a message
    std::string_view bytes() const { return shared ? std::string_view(*shared) : owned; }
  };

  // Taken pieces leave at once: a reader that is always behind must never make us hold what it
  // already has (one buffer that emptied only when fully drained held every partly sent list:
  // 13 MB for a 10 000-device ListAndWatch). Messages keep their boundaries for dropUnstarted.
  std::vector<Piece> pieces_;
  size_t queued_ = 0;          // bytes in pieces_ not taken yet
  size_t takenOfMessage_ = 0;  // of the message at the front: > 0 once it was started
  bool finishing_ = false;
  Headers trailers_;
};

}  // namespace udp::http2
