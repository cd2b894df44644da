#pragma once

// The `grpc-timeout` request header: 1 to 8 ASCII digits and one unit (H, M, S, m, u, n).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace udp::grpc {

// nullopt for anything the spec does not allow (so the caller can reject the call rather than
// guess a deadline). Values beyond what nanoseconds hold saturate to nanoseconds::max().
std::optional<std::chrono::nanoseconds> parseGrpcTimeout(std::string_view value);

// The finest unit whose value fits in 8 digits, rounded up so the peer's deadline is never
// shorter than ours. A deadline already passed (zero or negative) is "0n".
std::string formatGrpcTimeout(std::chrono::nanoseconds timeout);

}  // namespace udp::grpc
