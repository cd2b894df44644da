#include "grpc/status.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::grpc {
namespace {

TEST_CASE("Status defaults to OK") {
  CHECK(Status{}.ok());
  CHECK(Status::Ok().ok());
  CHECK(Status::Ok().message.empty());
  CHECK_FALSE((Status{StatusCode::kUnknown, "boom"}).ok());
}

TEST_CASE("encodeGrpcMessage escapes exactly what the spec says") {
  CHECK(encodeGrpcMessage("") == "");
  CHECK(encodeGrpcMessage("plain text: ~!@#$^&*()") == "plain text: ~!@#$^&*()");
  CHECK(encodeGrpcMessage("a%b") == "a%25b");
  CHECK(encodeGrpcMessage("\n") == "%0A");
  CHECK(encodeGrpcMessage("tab\there") == "tab%09here");
  CHECK(encodeGrpcMessage(std::string("\0", 1)) == "%00");
  CHECK(encodeGrpcMessage("\x7f") == "%7F");
  CHECK(encodeGrpcMessage(" ~") == " ~");  // 0x20 and 0x7E are the edges of the plain range
  // "é" and "☃" in UTF-8 are escaped byte by byte.
  CHECK(encodeGrpcMessage("caf\xc3\xa9") == "caf%C3%A9");
  CHECK(encodeGrpcMessage("\xe2\x98\x83") == "%E2%98%83");
}

TEST_CASE("every byte value round-trips through encode and decode") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string encoded = encodeGrpcMessage(all);
  for (char c : encoded) {
    CHECK(static_cast<unsigned char>(c) >= 0x20);
    CHECK(static_cast<unsigned char>(c) <= 0x7e);
  }
  CHECK(decodeGrpcMessage(encoded) == all);

  const std::string mixed = "device /dev/zram0: 100% busy\n\xc3\xa9t\xc3\xa9";
  CHECK(decodeGrpcMessage(encodeGrpcMessage(mixed)) == mixed);
}

TEST_CASE("decodeGrpcMessage is lenient") {
  CHECK(decodeGrpcMessage("a%25b") == "a%b");
  CHECK(decodeGrpcMessage("%0a%0A") == "\n\n");  // lowercase hex from other peers
  CHECK(decodeGrpcMessage("%C3%A9") == "\xc3\xa9");
  CHECK(decodeGrpcMessage("100%") == "100%");
  CHECK(decodeGrpcMessage("%4") == "%4");
  CHECK(decodeGrpcMessage("%zz") == "%zz");
  CHECK(decodeGrpcMessage("%%41") == "%A");
  CHECK(decodeGrpcMessage("%G1x") == "%G1x");
  CHECK(decodeGrpcMessage("raw\xc3\xa9 bytes") == "raw\xc3\xa9 bytes");
}

TEST_CASE("parseGrpcStatus") {
  CHECK(parseGrpcStatus("0") == StatusCode::kOk);
  CHECK(parseGrpcStatus("2") == StatusCode::kUnknown);
  CHECK(parseGrpcStatus("12") == StatusCode::kUnimplemented);
  CHECK(parseGrpcStatus("16") == StatusCode::kUnauthenticated);
  CHECK(parseGrpcStatus("004") == StatusCode::kDeadlineExceeded);
  CHECK(parseGrpcStatus("17") == StatusCode::kUnknown);
  CHECK(parseGrpcStatus("2147483647") == StatusCode::kUnknown);

  CHECK_FALSE(parseGrpcStatus("").has_value());
  CHECK_FALSE(parseGrpcStatus("2147483648").has_value());
  CHECK_FALSE(parseGrpcStatus("99999999999999999999999").has_value());
  CHECK_FALSE(parseGrpcStatus("-1").has_value());
  CHECK_FALSE(parseGrpcStatus("+1").has_value());
  CHECK_FALSE(parseGrpcStatus(" 1").has_value());
  CHECK_FALSE(parseGrpcStatus("1 ").has_value());
  CHECK_FALSE(parseGrpcStatus("OK").has_value());
  CHECK_FALSE(parseGrpcStatus("0x1").has_value());
}

TEST_CASE("statusCodeName covers every code") {
  const char* const expected[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  for (int code = 0; code <= 16; ++code) {
    CAPTURE(code);
    CHECK(std::string(statusCodeName(static_cast<StatusCode>(code))) == expected[code]);
    CHECK(parseGrpcStatus(std::to_string(code)) == static_cast<StatusCode>(code));
  }
  CHECK(std::string(statusCodeName(static_cast<StatusCode>(42))) == "UNKNOWN");
}

}  // namespace
}  // namespace udp::grpc
