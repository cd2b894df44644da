#include "http2/stream_output.h"

#include <cstring>

namespace udp::http2 {

void StreamOutput::append(std::string message) {
  queued_ += message.size();
  pieces_.push_back({std::move(message), nullptr, 0, true});
}

void StreamOutput::appendShared(std::string_view prefix, std::shared_ptr<const std::string> body) {
  queued_ += prefix.size() + body->size();
  pieces_.push_back({std::string(prefix), nullptr, 0, false});
  pieces_.push_back({std::string(), std::move(body), 0, true});
}

size_t StreamOutput::take(uint8_t* buf, size_t length) {
  size_t n = 0;
  size_t taken = 0;  // whole pieces taken, erased together below
  for (; taken < pieces_.size() && n < length; ++taken) {
    Piece& piece = pieces_[taken];
    std::string_view bytes = piece.bytes().substr(piece.offset);
    size_t take = std::min(bytes.size(), length - n);
    memcpy(buf + n, bytes.data(), take);
    n += take;
    piece.offset += take;
    takenOfMessage_ += take;
    if (piece.offset < piece.bytes().size()) break;
    if (piece.endsMessage) takenOfMessage_ = 0;
  }
  // A shared body goes back to its owner (and is freed with its last stream) once taken.
  pieces_.erase(pieces_.begin(), pieces_.begin() + static_cast<ptrdiff_t>(taken));
  queued_ -= n;
  return n;
}

void StreamOutput::dropUnstarted() {
  // Never cut a message in half: keep the one that was started and drop every message after
  // it. Dropping nothing once a message was partly sent let a peer with a small window or a full
  // socket make every update pile up until the 16 MiB bound closed it: no coalescing, and
  // 16-32 MiB held per stuck ListAndWatch.
  size_t keep = 0;
  if (takenOfMessage_ > 0) {
    while (keep < pieces_.size() && !pieces_[keep++].endsMessage) {
    }
  }
  for (size_t i = keep; i < pieces_.size(); ++i) {
    queued_ -= pieces_[i].bytes().size() - pieces_[i].offset;
  }
  pieces_.erase(pieces_.begin() + static_cast<ptrdiff_t>(keep), pieces_.end());
}

void StreamOutput::finish(Headers trailers) {
  finishing_ = true;
  trailers_ = std::move(trailers);
}

}  // namespace udp::http2
