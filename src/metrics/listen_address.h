#pragma once

// Where the metrics and health endpoints listen (--metrics-address): parsed without touching the
// network (no name lookup), so that a bad address is a usage error reported before anything runs.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::metrics {

struct ListenAddress {
  enum class Kind { kIpv4, kIpv6, kUnix };

  Kind kind = Kind::kIpv4;
  // Network byte order; the first 4 bytes for kIpv4.
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;  // 0: an ephemeral port, chosen by the kernel at bind
  std::string path;   // kUnix

  bool operator==(const ListenAddress&) const = default;
};

// Accepts `A.B.C.D:PORT`, `localhost:PORT` (127.0.0.1), `[IPV6]:PORT` and `unix:/ABSOLUTE/PATH`.
// Hosts are numeric on purpose: a name lookup would block the reactor and could change under us.
Result<ListenAddress> parseListenAddress(std::string_view text);

// The canonical text of an address; parseListenAddress(format(a)) == a.
std::string formatListenAddress(const ListenAddress& address);

}  // namespace udp::metrics
