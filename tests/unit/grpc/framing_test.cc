#include "grpc/framing.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace udp::grpc {
namespace {

std::string frame(std::string_view message) {
  std::string out;
  appendMessageFrame(out, message);
  return out;
}

std::string encodeAll(const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& message : messages) appendMessageFrame(out, message);
  return out;
}

std::string rawHeader(unsigned char flag, uint32_t length) {
  return std::string{static_cast<char>(flag), static_cast<char>(length >> 24),
                     static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                     static_cast<char>(length)};
}

// Decodes `wire` fed as the given pieces, requiring every piece to be accepted.
std::vector<std::string> decodePieces(const std::vector<std::string_view>& pieces,
                                      uint32_t maxMessageSize) {
  FrameDecoder decoder(maxMessageSize);
  std::vector<std::string> messages;
  for (std::string_view piece : pieces) REQUIRE(decoder.feed(piece, messages) == DecodeStatus::kOk);
  CHECK_FALSE(decoder.hasPartialMessage());
  return messages;
}

// A mix that covers empty messages at the start, middle and end, one byte, binary bytes that
// look like headers, and a message of exactly the maximum size.
constexpr uint32_t kSmallMax = 300;

std::vector<std::string> sampleMessages() {
  std::string binary;
  for (int i = 0; i < 64; ++i) binary.push_back(static_cast<char>(i * 37));
  return {"", "a", "", std::string(kSmallMax, 'x'), binary, std::string("\0\0\0\0\5", 5), ""};
}

TEST_CASE("appendMessageFrame writes flag 0 and a big-endian length after what is there") {
  std::string out = "prefix";
  appendMessageFrame(out, std::string(258, 'z'));
  REQUIRE(out.size() == 6 + 5 + 258);
  CHECK(out.substr(0, 6) == "prefix");
  CHECK(out.substr(6, 5) == rawHeader(0, 258));
  CHECK(out.substr(6, 5) == std::string("\x00\x00\x00\x01\x02", 5));
  CHECK(out.substr(11) == std::string(258, 'z'));

  CHECK(frame("") == std::string(5, '\0'));
  CHECK(frame("hi") == std::string("\x00\x00\x00\x00\x02hi", 7));
}

TEST_CASE("the encoder refuses a message over the maximum and appends nothing") {
  using udp::grpc::appendMessageFrameHeader;
  using udp::grpc::kDefaultMaxMessageSize;
  std::string out = "kept";
  CHECK_FALSE(appendMessageFrame(out, "12345", 4));
  CHECK_FALSE(appendMessageFrameHeader(out, 5, 4));
  CHECK(out == "kept");
  CHECK(appendMessageFrame(out, "1234", 4));
  CHECK(out == std::string("kept\0\0\0\0\x04"
                           "1234",
                           13));

  // The default is grpc-go's receive limit: 4 MiB of message, the 5-byte header not counted.
  out.clear();
  CHECK(appendMessageFrameHeader(out, kDefaultMaxMessageSize));
  CHECK(out == std::string("\0\0\x40\0\0", 5));
  CHECK_FALSE(appendMessageFrameHeader(out, kDefaultMaxMessageSize + 1));
  CHECK(out.size() == 5);
  const std::string big(kDefaultMaxMessageSize + 1, 'b');
  CHECK_FALSE(appendMessageFrame(out, big));
  CHECK(out.size() == 5);

  // Lengths the 4-byte field cannot hold are refused, not wrapped into a small length.
  CHECK_FALSE(appendMessageFrameHeader(out, std::size_t{1} << 32, UINT32_MAX));
  CHECK_FALSE(appendMessageFrameHeader(out, (std::size_t{1} << 32) + 5, UINT32_MAX));
  CHECK(out.size() == 5);
  CHECK(appendMessageFrameHeader(out, UINT32_MAX, UINT32_MAX));
  CHECK(out.substr(5) == std::string("\0\xff\xff\xff\xff", 5));
}

TEST_CASE("decoding the whole stream at once returns every message in order") {
  const auto messages = sampleMessages();
  const std::string wire = encodeAll(messages);
  CHECK(decodePieces({wire}, kSmallMax) == messages);
}

TEST_CASE("decoding survives a split at every byte boundary") {
  const auto messages = sampleMessages();
  const std::string encoded = encodeAll(messages);
  const std::string_view wire = encoded;
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    CAPTURE(cut);
    CHECK(decodePieces({wire.substr(0, cut), wire.substr(cut)}, kSmallMax) == messages);
  }
}

TEST_CASE("decoding survives splits at every pair of byte boundaries") {
  const std::vector<std::string> messages = {"", "abc", "", "defgh", ""};
  const std::string encoded = encodeAll(messages);
  const std::string_view wire = encoded;
  for (std::size_t first = 0; first <= wire.size(); ++first) {
    for (std::size_t second = first; second <= wire.size(); ++second) {
      CAPTURE(first);
      CAPTURE(second);
      CHECK(decodePieces(
                {wire.substr(0, first), wire.substr(first, second - first), wire.substr(second)},
                kSmallMax) == messages);
    }
  }
}

TEST_CASE("decoding one byte at a time") {
  const auto messages = sampleMessages();
  const std::string wire = encodeAll(messages);
  FrameDecoder decoder(kSmallMax);
  std::vector<std::string> decoded;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    REQUIRE(decoder.feed(std::string_view(wire).substr(i, 1), decoded) == DecodeStatus::kOk);
  }
  CHECK(decoded == messages);
  CHECK_FALSE(decoder.hasPartialMessage());
}

TEST_CASE("a message of exactly the default maximum is accepted, one byte more is not") {
  const std::string big(kDefaultMaxMessageSize, '\x5a');
  const std::string wire = frame(big);

  SUBCASE("in one piece") {
    FrameDecoder decoder;
    std::vector<std::string> decoded;
    REQUIRE(decoder.feed(wire, decoded) == DecodeStatus::kOk);
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0] == big);
  }
  SUBCASE("in DATA-frame-sized pieces that do not line up with the header") {
    FrameDecoder decoder;
    std::vector<std::string> decoded;
    const std::string_view view = wire;
    for (std::size_t at = 0; at < view.size(); at += 16384 - 3) {
      REQUIRE(decoder.feed(view.substr(at, 16384 - 3), decoded) == DecodeStatus::kOk);
    }
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0] == big);
  }
  SUBCASE("one byte over") {
    FrameDecoder decoder;
    std::vector<std::string> decoded;
    CHECK(decoder.feed(rawHeader(0, kDefaultMaxMessageSize + 1), decoded) ==
          DecodeStatus::kTooLarge);
    CHECK(decoded.empty());
  }
}

TEST_CASE("an oversized length is rejected as soon as the header is complete") {
  FrameDecoder decoder(kSmallMax);
  std::vector<std::string> decoded;
  const std::string header = rawHeader(0, kSmallMax + 1);
  for (std::size_t i = 0; i + 1 < header.size(); ++i) {
    REQUIRE(decoder.feed(header.substr(i, 1), decoded) == DecodeStatus::kOk);
  }
  CHECK(decoder.feed(header.substr(4, 1), decoded) == DecodeStatus::kTooLarge);
  CHECK(decoded.empty());

  FrameDecoder huge;
  CHECK(huge.feed(rawHeader(0, UINT32_MAX), decoded) == DecodeStatus::kTooLarge);
  CHECK(decoded.empty());
}

TEST_CASE("a zero maximum still accepts empty messages") {
  FrameDecoder decoder(0);
  std::vector<std::string> decoded;
  CHECK(decoder.feed(frame("") + frame(""), decoded) == DecodeStatus::kOk);
  CHECK(decoded == std::vector<std::string>{"", ""});
  CHECK(decoder.feed(frame("x"), decoded) == DecodeStatus::kTooLarge);
}

TEST_CASE("the compressed flag and unknown flags are errors") {
  std::vector<std::string> decoded;

  FrameDecoder compressed;
  CHECK(compressed.feed(rawHeader(1, 3) + "abc", decoded) == DecodeStatus::kCompressed);

  for (unsigned flag : {2u, 0x80u, 0xffu}) {
    CAPTURE(flag);
    FrameDecoder decoder;
    CHECK(decoder.feed(rawHeader(static_cast<unsigned char>(flag), 0), decoded) ==
          DecodeStatus::kBadFlag);
  }
  CHECK(decoded.empty());

  // The flag alone decides: no need to wait for the rest of the header.
  FrameDecoder early;
  CHECK(early.feed(std::string(1, '\x01'), decoded) == DecodeStatus::kCompressed);
}

TEST_CASE("messages before an error are delivered and the error sticks") {
  FrameDecoder decoder(kSmallMax);
  std::vector<std::string> decoded;
  CHECK(decoder.feed(frame("one") + frame("two") + rawHeader(1, 1) + "x", decoded) ==
        DecodeStatus::kCompressed);
  CHECK(decoded == std::vector<std::string>{"one", "two"});
  CHECK_FALSE(decoder.hasPartialMessage());

  decoded.clear();
  CHECK(decoder.feed(frame("three"), decoded) == DecodeStatus::kCompressed);
  CHECK(decoder.feed("", decoded) == DecodeStatus::kCompressed);
  CHECK(decoded.empty());

  FrameDecoder tooLarge(2);
  CHECK(tooLarge.feed(frame("abc"), decoded) == DecodeStatus::kTooLarge);
  CHECK(tooLarge.feed(frame("a"), decoded) == DecodeStatus::kTooLarge);
  CHECK(decoded.empty());
}

TEST_CASE("hasPartialMessage tracks buffered bytes of an incomplete message") {
  FrameDecoder decoder;
  std::vector<std::string> decoded;
  CHECK_FALSE(decoder.hasPartialMessage());

  const std::string wire = frame("hello");
  REQUIRE(decoder.feed(wire.substr(0, 1), decoded) == DecodeStatus::kOk);
  CHECK(decoder.hasPartialMessage());
  REQUIRE(decoder.feed(wire.substr(1, 4), decoded) == DecodeStatus::kOk);
  CHECK(decoder.hasPartialMessage());  // header complete, body pending
  REQUIRE(decoder.feed(wire.substr(5, 4), decoded) == DecodeStatus::kOk);
  CHECK(decoder.hasPartialMessage());
  REQUIRE(decoder.feed(wire.substr(9), decoded) == DecodeStatus::kOk);
  CHECK_FALSE(decoder.hasPartialMessage());
  CHECK(decoded == std::vector<std::string>{"hello"});

  REQUIRE(decoder.feed(frame(""), decoded) == DecodeStatus::kOk);
  CHECK_FALSE(decoder.hasPartialMessage());
  CHECK(decoded == std::vector<std::string>{"hello", ""});

  REQUIRE(decoder.feed("", decoded) == DecodeStatus::kOk);
  CHECK_FALSE(decoder.hasPartialMessage());
}

}  // namespace
}  // namespace udp::grpc
