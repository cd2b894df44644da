#pragma once

// gRPC status codes and the `grpc-status` / `grpc-message` trailer encodings (gRPC over HTTP/2).

#include <optional>
#include <string>
#include <string_view>

namespace udp::grpc {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

struct Status {
  StatusCode code = StatusCode::kOk;
  std::string message;  // plain text; encodeGrpcMessage() is applied when it goes on the wire

  bool ok() const;
  static Status Ok();
};

// Percent-encodes every byte outside 0x20-0x7E, and '%' itself, as %XX with uppercase hex.
std::string encodeGrpcMessage(std::string_view message);

// Reverses encodeGrpcMessage(). Lenient like grpc-go: a '%' not followed by two hex digits (of
// either case) is kept literally, because a garbled error text beats no error text.
std::string decodeGrpcMessage(std::string_view encoded);

// Parses a `grpc-status` value: non-negative decimal digits only, fitting an int32. Codes this
// enum does not know read as kUnknown, as the spec asks; nullopt means the value is malformed.
std::optional<StatusCode> parseGrpcStatus(std::string_view value);

// The spec's upper-case name ("OK", "CANCELLED", ...), for log lines.
const char* statusCodeName(StatusCode code);

}  // namespace udp::grpc
