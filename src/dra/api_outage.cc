#include "dra/api_outage.h"

namespace udp::dra {

std::optional<std::chrono::steady_clock::time_point> apiOutageCountsFrom(
    std::optional<std::chrono::steady_clock::time_point> disconnectedSince, bool everPublished) {
  if (!disconnectedSince) return std::nullopt;
  if (!everPublished) return *disconnectedSince;
  return *disconnectedSince + kApiOutageGrace;
}

bool apiOutageCounts(std::optional<std::chrono::steady_clock::time_point> disconnectedSince,
                     bool everPublished, std::chrono::steady_clock::time_point now) {
  auto from = apiOutageCountsFrom(disconnectedSince, everPublished);
  return from && *from <= now;
}

}  // namespace udp::dra
