// libFuzzer target for a whole gRPC server connection (DESIGN.md §5.6): grpc::ServerConnection
// over http2::Connection over nghttp2, on the epoll reactor, with the fuzzer as the peer at the
// other end of a socketpair. The input is what the peer sends, in input-chosen pieces; between
// pieces the reactor turns, the peer reads what we sent (or, sometimes, stops reading), and the
// service writes to its open streams as the inventory would. At the end the peer hangs up.
//
// Input: 4 header bytes, then the peer's bytes.
//   [0] largest piece the peer sends at once (0: all that the socket takes)
//   [1], [2] seed of the schedule (when the peer reads, service writes, graceful close)
//   [3] options: bits 0-1 the maximum request message size; bit 2 a small send buffer on our
//       side (short sends, waiting for EPOLLOUT); bit 3 the peer hangs up with close() rather
//       than shutdown(SHUT_WR)
//
// Checks: no crash, leak or hang; the first frame we send is SETTINGS; every frame we send is at
// most 16 KiB; every message the service wrote that reaches the peer is whole and intact (the
// service's messages are self-checking), and no stream ends inside a message; once the peer
// hangs up, the connection closes and frees itself; every stream the service accepted is closed
// exactly once and none outlives the connection.
//
// The epoll backend (not io_uring) so that the run is the same on every machine, sandboxes whose
// seccomp profile refuses io_uring included.

#include <errno.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/framing.h"
#include "grpc/server_connection.h"
#include "reactor/reactor.h"

namespace {

using namespace udp;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "server_connection_fuzzer: %s\n", what);
    std::abort();
  }
}

// We never raise nghttp2's frame size for what we send, whatever the peer allows.
constexpr std::size_t kMaxFramePayload = 16 * 1024;
constexpr uint8_t kFrameSettings = 0x4;
// Turns allowed for the connection to close once the peer has hung up.
constexpr int kTurnsToClose = 64;
// Turns allowed, after the input, for what we still send to come out (flow control may hold it).
constexpr int kTurnsToSettle = 256;

// A tiny deterministic generator, so that one input always runs the same schedule.
class Schedule {
 public:
  explicit Schedule(uint32_t seed) : state_(seed == 0 ? 0x9e3779b9u : seed) {}
  uint32_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }
  bool oneIn(uint32_t n) { return next() % n == 0; }

 private:
  uint32_t state_;
};

// Every message the service sends is checkable on its own: byte i is (byte 0 + i) mod 256, so a
// message cut, spliced or shifted on its way out shows up at the peer.
std::string checkableMessage(std::size_t size, uint8_t first) {
  std::string message(size, '\0');
  for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<char>(first + i);
  return message;
}

bool isCheckable(std::string_view message) {
  for (std::size_t i = 1; i < message.size(); ++i) {
    if (static_cast<uint8_t>(message[i]) != static_cast<uint8_t>(message[0] + i)) return false;
  }
  return true;
}

// The device plugin's methods, answered without an inventory. A request starting with 'E' fails
// with its own bytes as the message (grpc-message encoding); a stream request starting with 'F'
// is finished inside openStream.
class FuzzService final : public grpc::Service {
 public:
  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override {
    if (path == "/v1beta1.DevicePlugin/ListAndWatch") return grpc::MethodKind::kServerStreaming;
    if (path == "/v1beta1.DevicePlugin/GetDevicePluginOptions" ||
        path == "/v1beta1.DevicePlugin/Allocate" ||
        path == "/v1beta1.DevicePlugin/GetPreferredAllocation" ||
        path == "/v1beta1.DevicePlugin/PreStartContainer") {
      return grpc::MethodKind::kUnary;
    }
    return std::nullopt;
  }

  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override {
    require(methodKind(call.path) == grpc::MethodKind::kUnary, "unary call on a stream method");
    if (!request.empty() && request[0] == 'E') {
      return {grpc::StatusCode::kInvalidArgument, std::string(request.substr(1))};
    }
    // Larger than the request, so that flow control and short sends are exercised.
    response = checkableMessage(4 * request.size(), static_cast<uint8_t>(request.size()));
    return grpc::Status::Ok();
  }

  grpc::Status openStream(const grpc::CallContext& call, std::string_view request,
                          grpc::ServerStream& stream) override {
    require(methodKind(call.path) == grpc::MethodKind::kServerStreaming, "stream on a unary");
    require(!open_.contains(&stream), "a stream opened twice");
    if (!request.empty() && request[0] == 'E') {
      return {grpc::StatusCode::kFailedPrecondition, std::string(request.substr(1))};
    }
    // Held before the first write, as the resource service does: a write that closes the
    // connection calls streamClosed at once.
    open_.insert(&stream);
    (void)stream.write(checkableMessage(request.size(), 's'), true);
    if (!request.empty() && request[0] == 'F') stream.finish(grpc::Status::Ok());
    return grpc::Status::Ok();
  }

  void streamClosed(grpc::ServerStream& stream) override {
    require(open_.erase(&stream) == 1, "streamClosed for a stream that is not open");
  }

  // What the inventory does when devices change: a new list on every open stream, one encoding
  // shared by all of them (as the resource service sends it) or a copy each.
  void update(Schedule& schedule) {
    uint32_t r = schedule.next();
    auto message = std::make_shared<const std::string>(
        checkableMessage(r % 600, static_cast<uint8_t>(r >> 16)));
    bool supersedes = r & (1u << 24);
    bool shared = r & (1u << 25);
    // A write may close the connection, which calls streamClosed and edits open_: iterate over
    // a copy, and write to streams closed meanwhile as the resource service does (their calls
    // must stay alive until the connection's sweep).
    std::vector<grpc::ServerStream*> streams(open_.begin(), open_.end());
    for (grpc::ServerStream* stream : streams) {
      (void)(shared ? stream->writeShared(message, supersedes)
                    : stream->write(*message, supersedes));
    }
    if (!open_.empty() && schedule.oneIn(8)) {
      (*open_.begin())
          ->finish(schedule.oneIn(2) ? grpc::Status::Ok()
                                     : grpc::Status{grpc::StatusCode::kAborted, "x"});
    }
  }

  bool anyOpen() const { return !open_.empty(); }

 private:
  std::set<grpc::ServerStream*> open_;
};

// Reads what we send as the peer would: frames across reads, then on each stream the gRPC
// messages in its DATA. Every message must arrive whole and intact, and a stream must end
// (END_STREAM on DATA or trailers) between messages, never inside one.
class OutputChecker {
 public:
  void consume(const uint8_t* data, std::size_t size) {
    for (std::size_t i = 0; i < size;) {
      if (headerFilled_ < sizeof header_) {
        header_[headerFilled_++] = data[i++];
        if (headerFilled_ < sizeof header_) continue;
        payloadLength_ = (std::size_t{header_[0]} << 16) | (std::size_t{header_[1]} << 8) |
                         std::size_t{header_[2]};
        require(payloadLength_ <= kMaxFramePayload, "we sent a frame larger than 16 KiB");
        if (frames_++ == 0) {
          require(header_[3] == kFrameSettings, "our first frame is not SETTINGS");
        }
        payload_.clear();
      }
      std::size_t n = std::min(payloadLength_ - payload_.size(), size - i);
      payload_.append(reinterpret_cast<const char*>(data + i), n);
      i += n;
      if (payload_.size() == payloadLength_) {
        frame();
        headerFilled_ = 0;
      }
    }
  }

 private:
  static constexpr uint8_t kData = 0x0, kHeaders = 0x1, kEndStream = 0x1, kPadded = 0x8;

  void frame() {
    const uint8_t type = header_[3], flags = header_[4];
    const uint32_t stream = ((uint32_t{header_[5]} << 24) | (uint32_t{header_[6]} << 16) |
                             (uint32_t{header_[7]} << 8) | uint32_t{header_[8]}) &
                            0x7fffffffu;
    if (type == kData) {
      require((flags & kPadded) == 0, "we padded DATA");
      auto [it, inserted] = streams_.try_emplace(stream, grpc::kDefaultMaxMessageSize);
      messages_.clear();
      require(it->second.feed(payload_, messages_) == grpc::DecodeStatus::kOk,
              "our DATA is not gRPC framing");
      for (const std::string& message : messages_) {
        require(isCheckable(message), "a message arrived corrupted");
      }
    }
    if ((type == kData || type == kHeaders) && (flags & kEndStream) != 0) {
      auto it = streams_.find(stream);
      require(it == streams_.end() || !it->second.hasPartialMessage(),
              "a stream ended inside a message");
    }
  }

  uint8_t header_[9] = {};
  std::size_t headerFilled_ = 0;
  std::size_t payloadLength_ = 0;
  std::string payload_;
  std::size_t frames_ = 0;
  std::map<uint32_t, grpc::FrameDecoder> streams_;
  std::vector<std::string> messages_;
};

uint32_t maxMessageSizeFor(uint8_t options) {
  switch (options & 3) {
    case 1:
      return 0;
    case 2:
      return 16;
    case 3:
      return 1024;
    default:
      return grpc::kDefaultMaxMessageSize;
  }
}

reactor::Reactor& theReactor() {
  static std::unique_ptr<reactor::Reactor> reactor = [] {
    auto created = reactor::Reactor::create(reactor::Backend::kEpoll);
    require(created.ok(), "no epoll reactor");
    return std::move(*created);
  }();
  return *reactor;
}

// The peer's end of the socketpair.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}

  // Sends up to `bytes.size()`; returns how many went, 0 when the socket is full, -1 when the
  // connection is gone.
  long send(std::string_view bytes) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return n;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }

  // Reads all that has arrived; returns how many bytes.
  std::size_t drain(OutputChecker& output) {
    std::size_t total = 0;
    uint8_t buf[16 * 1024];
    ssize_t n;
    while ((n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      output.consume(buf, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
    }
    return total;
  }

  // Bytes we sent that the connection has not read yet.
  int unread() const {
    int queued = 0;
    if (ioctl(fd_.get(), SIOCOUTQ, &queued) < 0) return 0;
    return queued;
  }

  void hangUp(bool close) {
    if (close) {
      fd_.reset();
    } else {
      ::shutdown(fd_.get(), SHUT_WR);
    }
  }

 private:
  UniqueFd fd_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::size_t maxPiece = data[0];
  Schedule schedule(uint32_t{data[1]} | (uint32_t{data[2]} << 8) | (uint32_t{data[3]} << 16));
  const uint8_t options = data[3];
  std::string_view input(reinterpret_cast<const char*>(data + 4), size - 4);

  int fds[2];
  require(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0,
          "socketpair");
  if (options & 4) {
    int small = 4096;  // the kernel doubles it and keeps a minimum; still far below 64 KiB
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  }
  Peer peer(fds[1]);
  reactor::Reactor& reactor = theReactor();
  auto turn = [&reactor] { reactor.runOnce(std::chrono::milliseconds(0)); };

  FuzzService service;
  OutputChecker output;
  auto connection = std::make_unique<grpc::ServerConnection>(
      reactor, UniqueFd(fds[0]), service,
      grpc::ServerLimits{.maxMessageSize = maxMessageSizeFor(options)});
  connection->start();
  bool closedByUs = false;

  // The peer talks.
  while (!input.empty()) {
    std::size_t piece = maxPiece == 0 ? input.size() : 1 + schedule.next() % maxPiece;
    long sent = peer.send(input.substr(0, std::min(piece, input.size())));
    if (sent < 0) break;  // we closed the connection
    input.remove_prefix(static_cast<std::size_t>(sent));
    // One turn reads the piece, the next sends the answer.
    turn();
    turn();
    // A peer that stops reading for a while makes our queues and the socket fill up.
    if (!schedule.oneIn(8)) peer.drain(output);
    connection->sweep();
    // Between turns: device updates, and the daemon's shutdown (SIGTERM) ending every stream
    // with OK.
    if (service.anyOpen() && schedule.oneIn(3)) service.update(schedule);
    if (!closedByUs && schedule.oneIn(512)) {
      closedByUs = true;
      connection->closeGracefully();
    }
    if (connection->finished()) break;
  }

  // The peer reads what is still coming (flow control may hold some back for good).
  for (int i = 0, quiet = 0; i < kTurnsToSettle && quiet < 2 && !connection->finished(); ++i) {
    turn();
    quiet = peer.drain(output) == 0 && peer.unread() == 0 ? quiet + 1 : 0;
    connection->sweep();
  }

  // The peer hangs up: the connection must close and become free-able.
  peer.hangUp(options & 8);
  for (int i = 0; i < kTurnsToClose && !connection->finished(); ++i) {
    turn();
    peer.drain(output);
    connection->sweep();
  }
  require(connection->finished(), "the connection outlived its peer");
  connection.reset();
  require(!service.anyOpen(), "a stream outlived its connection without streamClosed");
  return 0;
}
