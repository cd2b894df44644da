#include "grpc/timeout.h"

#include <cstdint>
#include <limits>

namespace udp::grpc {

namespace {

constexpr std::size_t kMaxDigits = 8;
constexpr int64_t kMaxValue = 99'999'999;

struct Unit {
  char symbol;
  int64_t nanos;
};

// Finest first, the order formatGrpcTimeout() tries them in.
constexpr Unit kUnits[] = {
    {'n', 1},
    {'u', 1'000},
    {'m', 1'000'000},
    {'S', 1'000'000'000},
    {'M', 60 * int64_t{1'000'000'000}},
    {'H', 3'600 * int64_t{1'000'000'000}},
};

}  // namespace

std::optional<std::chrono::nanoseconds> parseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > kMaxDigits + 1) return std::nullopt;

  const char symbol = value.back();
  const Unit* unit = nullptr;
  for (const Unit& candidate : kUnits) {
    if (candidate.symbol == symbol) unit = &candidate;
  }
  if (unit == nullptr) return std::nullopt;

  int64_t count = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    count = count * 10 + (c - '0');
  }
  // 99999999H is about 3.6e20 ns, past int64: a deadline that far away is no deadline.
  constexpr int64_t kMaxNanos = std::numeric_limits<int64_t>::max();
  if (count > kMaxNanos / unit->nanos) return std::chrono::nanoseconds::max();
  return std::chrono::nanoseconds(count * unit->nanos);
}

std::string formatGrpcTimeout(std::chrono::nanoseconds timeout) {
  const int64_t nanos = timeout.count();
  if (nanos <= 0) return "0n";
  for (const Unit& unit : kUnits) {
    const int64_t count = nanos / unit.nanos + (nanos % unit.nanos != 0 ? 1 : 0);
    if (count <= kMaxValue) return std::to_string(count) + unit.symbol;
  }
  // Unreachable: int64 nanoseconds are at most about 2.6e6 hours.
  return std::to_string(kMaxValue) + 'H';
}

}  // namespace udp::grpc
