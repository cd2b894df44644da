#include "grpc/framing.h"

#include <algorithm>
#include <utility>

namespace udp::grpc {

bool appendMessageFrame(std::string& out, std::string_view message, uint32_t maxMessageSize) {
  if (message.size() > maxMessageSize) return false;
  out.reserve(out.size() + kFrameHeaderSize + message.size());
  if (!appendMessageFrameHeader(out, message.size(), maxMessageSize)) return false;
  out.append(message);
  return true;
}

bool appendMessageFrameHeader(std::string& out, std::size_t size, uint32_t maxMessageSize) {
  // Checked in size_t: a length of 4 GiB or more must not wrap into a small uint32_t.
  if (size > maxMessageSize) return false;
  const auto length = static_cast<uint32_t>(size);
  const char header[kFrameHeaderSize] = {
      0,
      static_cast<char>((length >> 24) & 0xff),
      static_cast<char>((length >> 16) & 0xff),
      static_cast<char>((length >> 8) & 0xff),
      static_cast<char>(length & 0xff),
  };
  out.append(header, kFrameHeaderSize);
  return true;
}

FrameDecoder::FrameDecoder(uint32_t maxMessageSize) : maxMessageSize_(maxMessageSize) {}

DecodeStatus FrameDecoder::fail(DecodeStatus status) {
  status_ = status;
  headerFilled_ = 0;
  inBody_ = false;
  body_ = std::string();
  return status;
}

DecodeStatus FrameDecoder::feed(std::string_view bytes, std::vector<std::string>& messagesOut) {
  if (status_ != DecodeStatus::kOk) return status_;

  while (!bytes.empty()) {
    if (!inBody_) {
      // Check the flag as soon as it arrives: nothing after it can make the stream valid.
      if (headerFilled_ == 0) {
        const auto flag = static_cast<unsigned char>(bytes.front());
        if (flag == 1) return fail(DecodeStatus::kCompressed);
        if (flag != 0) return fail(DecodeStatus::kBadFlag);
      }
      const std::size_t take = std::min(kFrameHeaderSize - headerFilled_, bytes.size());
      std::copy_n(bytes.data(), take, header_ + headerFilled_);
      headerFilled_ += take;
      bytes.remove_prefix(take);
      if (headerFilled_ < kFrameHeaderSize) break;

      headerFilled_ = 0;
      bodyLength_ = (uint32_t{header_[1]} << 24) | (uint32_t{header_[2]} << 16) |
                    (uint32_t{header_[3]} << 8) | uint32_t{header_[4]};
      // Reject before buffering any of the body, so an oversized message costs us nothing.
      if (bodyLength_ > maxMessageSize_) return fail(DecodeStatus::kTooLarge);
      if (bodyLength_ == 0) {
        messagesOut.emplace_back();
        continue;
      }
      inBody_ = true;
    }

    const std::size_t take = std::min<std::size_t>(bodyLength_ - body_.size(), bytes.size());
    body_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (body_.size() == bodyLength_) {
      messagesOut.push_back(std::move(body_));
      body_ = std::string();
      inBody_ = false;
    }
  }
  return DecodeStatus::kOk;
}

bool FrameDecoder::hasPartialMessage() const {
  return inBody_ || headerFilled_ > 0;
}

}  // namespace udp::grpc
