#include "grpc/timeout.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace udp::grpc {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST_CASE("parseGrpcTimeout accepts every unit") {
  CHECK(parseGrpcTimeout("1H") == nanoseconds(1h));
  CHECK(parseGrpcTimeout("2M") == nanoseconds(2min));
  CHECK(parseGrpcTimeout("30S") == nanoseconds(30s));
  CHECK(parseGrpcTimeout("250m") == nanoseconds(250ms));
  CHECK(parseGrpcTimeout("7u") == nanoseconds(7us));
  CHECK(parseGrpcTimeout("9n") == nanoseconds(9ns));
  CHECK(parseGrpcTimeout("0S") == nanoseconds(0));
  CHECK(parseGrpcTimeout("00000001S") == nanoseconds(1s));
  CHECK(parseGrpcTimeout("99999999n") == nanoseconds(99'999'999));
  CHECK(parseGrpcTimeout("29999872u") == nanoseconds(29'999'872us));
}

TEST_CASE("parseGrpcTimeout rejects what the spec does not allow") {
  CHECK_FALSE(parseGrpcTimeout("").has_value());
  CHECK_FALSE(parseGrpcTimeout("S").has_value());    // no digits
  CHECK_FALSE(parseGrpcTimeout("10").has_value());   // missing unit
  CHECK_FALSE(parseGrpcTimeout("10s").has_value());  // unknown unit (seconds are 'S')
  CHECK_FALSE(parseGrpcTimeout("10h").has_value());
  CHECK_FALSE(parseGrpcTimeout("10x").has_value());
  CHECK_FALSE(parseGrpcTimeout("123456789S").has_value());  // 9 digits
  CHECK_FALSE(parseGrpcTimeout("000000001S").has_value());  // 9 digits, even with zeros
  CHECK_FALSE(parseGrpcTimeout("-1S").has_value());
  CHECK_FALSE(parseGrpcTimeout("+1S").has_value());
  CHECK_FALSE(parseGrpcTimeout(" 1S").has_value());
  CHECK_FALSE(parseGrpcTimeout("1S ").has_value());
  CHECK_FALSE(parseGrpcTimeout("1.5S").has_value());
  CHECK_FALSE(parseGrpcTimeout("1SS").has_value());
  CHECK_FALSE(parseGrpcTimeout("1mS").has_value());
}

TEST_CASE("parseGrpcTimeout saturates instead of overflowing") {
  CHECK(parseGrpcTimeout("99999999H") == nanoseconds::max());
  // 99999999 M is about 6.0e18 ns, just inside int64.
  CHECK(parseGrpcTimeout("99999999M") == nanoseconds(int64_t{99'999'999} * 60'000'000'000));
  // 99999999 S = 1e17 ns fits, so it must not saturate.
  CHECK(parseGrpcTimeout("99999999S") == nanoseconds(int64_t{99'999'999} * 1'000'000'000));
  // 2562047 h is the last whole hour int64 nanoseconds hold.
  CHECK(parseGrpcTimeout("2562047H") == nanoseconds(std::chrono::hours(2'562'047)));
  CHECK(parseGrpcTimeout("2562048H") == nanoseconds::max());
}

TEST_CASE("formatGrpcTimeout picks the finest unit that fits and rounds up") {
  CHECK(formatGrpcTimeout(0ns) == "0n");
  CHECK(formatGrpcTimeout(-5s) == "0n");
  CHECK(formatGrpcTimeout(1ns) == "1n");
  CHECK(formatGrpcTimeout(99'999'999ns) == "99999999n");
  CHECK(formatGrpcTimeout(100'000'000ns) == "100000u");
  CHECK(formatGrpcTimeout(100'000'001ns) == "100001u");  // rounded up, not down
  CHECK(formatGrpcTimeout(30s) == "30000000u");
  CHECK(formatGrpcTimeout(15s) == "15000000u");
  CHECK(formatGrpcTimeout(100s) == "100000m");
  CHECK(formatGrpcTimeout(100'000s) == "100000S");
  CHECK(formatGrpcTimeout(std::chrono::hours(100'000)) == "6000000M");
  CHECK(formatGrpcTimeout(nanoseconds::max()) == "2562048H");
}

TEST_CASE("format then parse never shortens a deadline and loses less than one unit") {
  const int64_t samples[] = {1,
                             999,
                             1'000,
                             1'001,
                             99'999'999,
                             100'000'000,
                             123'456'789'012,
                             99'999'999'000'000,
                             99'999'999'000'001,
                             int64_t{15} * 1'000'000'000,
                             int64_t{3'600} * 1'000'000'000 * 24 * 365,
                             INT64_MAX / 3,
                             INT64_MAX - 1,
                             INT64_MAX};
  for (int64_t sample : samples) {
    CAPTURE(sample);
    const std::string text = formatGrpcTimeout(nanoseconds(sample));
    CAPTURE(text);
    REQUIRE(text.size() >= 2);
    CHECK(text.size() <= 9);
    const auto parsed = parseGrpcTimeout(text);
    REQUIRE(parsed.has_value());
    CHECK(parsed->count() >= sample);
    if (*parsed != nanoseconds::max()) {
      // The unit chosen is the finest that fits, so the round-up costs less than one unit.
      const int64_t unit = parseGrpcTimeout(std::string("1") + text.back())->count();
      CHECK(parsed->count() - sample < unit);
    }
  }
}

TEST_CASE("parse then format reproduces values already in their finest unit") {
  for (const char* text :
       {"1n", "99999999n", "100000u", "12345678u", "100000m", "100000S", "6000000M", "2562047H"}) {
    CAPTURE(text);
    const auto parsed = parseGrpcTimeout(text);
    REQUIRE(parsed.has_value());
    CHECK(formatGrpcTimeout(*parsed) == text);
  }
}

}  // namespace
}  // namespace udp::grpc
