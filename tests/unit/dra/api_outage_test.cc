#include "dra/api_outage.h"

#include <doctest/doctest.h>

namespace udp::dra {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Clock::time_point kLost = Clock::time_point{} + 1000s;

TEST_CASE("connected: no outage, whatever the time") {
  CHECK_FALSE(apiOutageCountsFrom(std::nullopt, true));
  CHECK_FALSE(apiOutageCountsFrom(std::nullopt, false));
  CHECK_FALSE(apiOutageCounts(std::nullopt, true, kLost + 1h));
  CHECK_FALSE(apiOutageCounts(std::nullopt, false, kLost));
}

TEST_CASE("after a publish: a reconnect within the grace period is not an outage") {
  CHECK(apiOutageCountsFrom(kLost, true) == kLost + kApiOutageGrace);
  CHECK_FALSE(apiOutageCounts(kLost, true, kLost));
  CHECK_FALSE(apiOutageCounts(kLost, true, kLost + 50ms));
  CHECK_FALSE(apiOutageCounts(kLost, true, kLost + kApiOutageGrace - 1ns));
  CHECK(apiOutageCounts(kLost, true, kLost + kApiOutageGrace));
  CHECK(apiOutageCounts(kLost, true, kLost + 1h));
}

TEST_CASE("before the pool was ever published: not ready at once") {
  CHECK(apiOutageCountsFrom(kLost, false) == kLost);
  CHECK(apiOutageCounts(kLost, false, kLost));
  CHECK(apiOutageCounts(kLost, false, kLost + 1ms));
}

TEST_CASE("the grace period is a few seconds: longer than a reconnect, shorter than a probe") {
  CHECK(kApiOutageGrace >= 2s);
  CHECK(kApiOutageGrace <= 10s);
}

}  // namespace
}  // namespace udp::dra
