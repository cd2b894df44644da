// libFuzzer target for the gRPC message framing (DESIGN.md §5.6): whatever the messages and
// however the bytes are split, decode(encode(x)) == x; and arbitrary bytes never crash the
// decoder and decode the same however they are split.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/framing.h"

namespace {

using udp::grpc::appendMessageFrame;
using udp::grpc::DecodeStatus;
using udp::grpc::FrameDecoder;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "framing_fuzzer: %s\n", what);
    std::abort();
  }
}

struct Decoded {
  std::vector<std::string> messages;
  DecodeStatus status = DecodeStatus::kOk;
  bool partial = false;
};

// Feeds `wire` in pieces whose lengths come from `pieceLengths` (cycled; 0 means an empty feed),
// then checks that a failed decoder stays failed.
Decoded decodeInPieces(std::string_view wire, uint32_t maxMessageSize,
                       const std::vector<std::size_t>& pieceLengths) {
  FrameDecoder decoder(maxMessageSize);
  Decoded out;
  std::size_t next = 0;
  while (!wire.empty() && out.status == DecodeStatus::kOk) {
    std::size_t length = wire.size();
    if (!pieceLengths.empty()) length = pieceLengths[next++ % pieceLengths.size()];
    if (length > wire.size()) length = wire.size();
    out.status = decoder.feed(wire.substr(0, length), out.messages);
    wire.remove_prefix(length);
  }
  out.partial = decoder.hasPartialMessage();
  if (out.status != DecodeStatus::kOk) {
    require(!out.partial, "a failed decoder reports a partial message");
    std::vector<std::string> more;
    std::string valid;
    appendMessageFrame(valid, "x");
    require(decoder.feed(valid, more) == out.status, "error did not stick");
    require(more.empty(), "a failed decoder produced a message");
  }
  return out;
}

bool operator==(const Decoded& a, const Decoded& b) {
  return a.messages == b.messages && a.status == b.status && a.partial == b.partial;
}

// Arbitrary bytes: no crash, the same result for one piece, one byte at a time and
// input-derived pieces, and the messages re-encode to exactly the bytes they came from.
void checkRawInput(std::string_view input) {
  std::vector<std::size_t> derived;
  for (std::size_t i = 0; i < input.size() && i < 64; ++i) {
    derived.push_back(static_cast<unsigned char>(input[i]) % 11);
  }
  derived.push_back(1);  // never all zeros, or nothing would be fed

  for (uint32_t maxMessageSize : {udp::grpc::kDefaultMaxMessageSize, uint32_t{0}, uint32_t{64}}) {
    const Decoded whole = decodeInPieces(input, maxMessageSize, {});
    require(decodeInPieces(input, maxMessageSize, {1}) == whole, "byte-at-a-time differs");
    require(decodeInPieces(input, maxMessageSize, derived) == whole, "split decode differs");

    std::string reencoded;
    for (const auto& message : whole.messages) appendMessageFrame(reencoded, message);
    require(input.substr(0, reencoded.size()) == reencoded, "messages are not the input's");
    if (whole.status == DecodeStatus::kOk) {
      require(whole.partial == (reencoded.size() < input.size()), "partial flag is wrong");
    } else {
      require(reencoded.size() < input.size(), "error without an offending frame");
    }
  }
}

// Structured: messages, an optional corrupted flag and a maximum, all from the input; the
// decoder must return exactly the messages a reference model predicts.
void checkRoundTrip(std::string_view input) {
  FuzzedDataProvider provider(reinterpret_cast<const uint8_t*>(input.data()), input.size());

  std::vector<std::string> messages(provider.ConsumeIntegralInRange<std::size_t>(0, 24));
  std::size_t largest = 0;
  for (auto& message : messages) {
    message = provider.ConsumeRandomLengthString(2048);
    if (message.size() > largest) largest = message.size();
  }

  uint32_t maxMessageSize = udp::grpc::kDefaultMaxMessageSize;
  switch (provider.ConsumeIntegralInRange(0, 2)) {
    case 0:
      break;
    case 1:  // the largest message sits exactly at the limit
      maxMessageSize = static_cast<uint32_t>(largest);
      break;
    default:
      maxMessageSize = provider.ConsumeIntegralInRange<uint32_t>(0, 2048);
      break;
  }

  std::string wire;
  std::vector<std::size_t> frameStart;
  for (const auto& message : messages) {
    frameStart.push_back(wire.size());
    appendMessageFrame(wire, message);
  }

  std::size_t corrupted = messages.size();
  unsigned char flag = 0;
  if (!messages.empty() && provider.ConsumeBool()) {
    corrupted = provider.ConsumeIntegralInRange<std::size_t>(0, messages.size() - 1);
    flag = provider.ConsumeIntegral<unsigned char>();
    wire[frameStart[corrupted]] = static_cast<char>(flag);
  }

  // The reference model: the flag is judged before the length, the first bad frame ends it all.
  Decoded expected;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i == corrupted && flag == 1) {
      expected.status = DecodeStatus::kCompressed;
    } else if (i == corrupted && flag != 0) {
      expected.status = DecodeStatus::kBadFlag;
    } else if (messages[i].size() > maxMessageSize) {
      expected.status = DecodeStatus::kTooLarge;
    }
    if (expected.status != DecodeStatus::kOk) break;
    expected.messages.push_back(messages[i]);
  }

  std::vector<std::size_t> pieceLengths;
  while (provider.remaining_bytes() > 0 && pieceLengths.size() < 256) {
    pieceLengths.push_back(provider.ConsumeIntegralInRange<std::size_t>(0, 300));
  }
  pieceLengths.push_back(wire.size());  // whatever the input left unsplit goes in one piece

  FrameDecoder decoder(maxMessageSize);
  Decoded actual;
  std::string_view rest = wire;
  for (std::size_t length : pieceLengths) {
    if (length > rest.size()) length = rest.size();
    const DecodeStatus status = decoder.feed(rest.substr(0, length), actual.messages);
    rest.remove_prefix(length);
    if (status != DecodeStatus::kOk) {
      actual.status = status;
      break;
    }
    if (rest.empty()) break;
  }
  actual.partial = decoder.hasPartialMessage();

  require(actual.status == expected.status, "round trip: wrong status");
  require(actual.messages == expected.messages, "round trip: decode(encode(x)) != x");
  require(!actual.partial, "round trip: partial message left after whole frames");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkRawInput(input);
  checkRoundTrip(input);
  return 0;
}
