#pragma once

// What sits between nghttp2 and the socket when the bytes on the wire are not the HTTP/2 frames
// themselves: TLS, for the Kubernetes API. A pure byte transform with a handshake in front; the
// Connection still owns the socket's one recv and one send, so the handshake runs on them too.

#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::http2 {

class Transport {
 public:
  virtual ~Transport() = default;
  // Starts the handshake; what it wants sent waits in takeOutput().
  virtual Result<void> start() = 0;
  // Bytes read from the socket; the frames they carried are appended to `frames`. An error
  // closes the connection and becomes Connection::error().
  virtual Result<void> receive(std::string_view wire, std::string& frames) = 0;
  // Frames for the peer, only once ready().
  virtual Result<void> send(std::string_view frames) = 0;
  // Appends the bytes waiting for the socket to `wire`.
  virtual void takeOutput(std::string& wire) = 0;
  // The handshake is done: frames may flow.
  virtual bool ready() const = 0;
};

}  // namespace udp::http2
