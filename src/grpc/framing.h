#pragma once

// gRPC length-prefixed message framing: a 1-byte compressed flag, a 4-byte big-endian length,
// then the message bytes. HTTP/2 DATA frame boundaries have nothing to do with message
// boundaries, so the decoder is an incremental state machine fed whatever bytes arrived.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace udp::grpc {

// grpc-go's default on both sides; the kubelet never raises it.
inline constexpr uint32_t kDefaultMaxMessageSize = 4 * 1024 * 1024;
inline constexpr std::size_t kFrameHeaderSize = 5;

// Appends one uncompressed frame (flag 0) to `out`, keeping what `out` already holds. Returns
// false, appending nothing, when `message` is longer than `maxMessageSize`: the peer (grpc-go,
// 4 MiB unless configured) would fail the whole call on it, so such a message is never framed.
// Callers that can do better than an error (keep the last good ListAndWatch list) check first.
bool appendMessageFrame(std::string& out, std::string_view message,
                        uint32_t maxMessageSize = kDefaultMaxMessageSize);
// Appends only the 5-byte header of such a frame, for a message of `length` bytes sent apart;
// false, appending nothing, under the same rule.
bool appendMessageFrameHeader(std::string& out, std::size_t length,
                              uint32_t maxMessageSize = kDefaultMaxMessageSize);

enum class DecodeStatus {
  kOk,
  kCompressed,  // flag 1: we never advertise an encoding, so the peer broke the contract
  kBadFlag,     // a flag other than 0 or 1: not gRPC framing at all
  kTooLarge,    // the announced length exceeds the maximum
};

class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t maxMessageSize = kDefaultMaxMessageSize);

  // Consumes all of `bytes`, appending every message it completes to `messagesOut`. Messages
  // completed before an error are still appended. Once an error is returned, every later call
  // returns the same error and consumes nothing: the stream cannot be resynchronised.
  DecodeStatus feed(std::string_view bytes, std::vector<std::string>& messagesOut);

  // True while part of a message (header or body) is buffered, so a stream that ends now ended
  // mid-message. False after an error, since the buffers are dropped then.
  bool hasPartialMessage() const;

 private:
  DecodeStatus fail(DecodeStatus status);

  uint32_t maxMessageSize_;
  DecodeStatus status_ = DecodeStatus::kOk;
  unsigned char header_[kFrameHeaderSize] = {};
  std::size_t headerFilled_ = 0;
  bool inBody_ = false;
  uint32_t bodyLength_ = 0;
  // Grows with the bytes that really arrived rather than being reserved from the announced
  // length, so a peer cannot make us allocate the maximum per stream by sending 5 bytes.
  std::string body_;
};

}  // namespace udp::grpc
