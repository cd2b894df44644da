// Capped exponential backoff (util/backoff.h), shared by the parts that retry until they work.

#include "util/backoff.h"

#include <doctest/doctest.h>

using namespace std::chrono_literals;

TEST_CASE("backoff doubles from the first delay up to the cap, and starts over on reset") {
  udp::Backoff backoff;  // the defaults: 100 ms doubling to 30 s
  CHECK(backoff.next() == 100ms);
  CHECK(backoff.next() == 200ms);
  CHECK(backoff.next() == 400ms);
  for (int i = 0; i < 6; ++i) backoff.next();  // 800 ms ... 25.6 s
  CHECK(backoff.next() == 30000ms);
  CHECK(backoff.next() == 30000ms);
  backoff.reset();
  CHECK(backoff.next() == 100ms);

  udp::Backoff small({5ms, 12ms});
  CHECK(small.next() == 5ms);
  CHECK(small.next() == 10ms);
  CHECK(small.next() == 12ms);
  CHECK(small.next() == 12ms);
}

TEST_CASE("peek tells the next delay without taking it; restartFrom doubles from a given delay") {
  udp::Backoff backoff({10ms, 100ms});
  CHECK(backoff.peek() == 10ms);
  CHECK(backoff.peek() == 10ms);
  CHECK(backoff.next() == 10ms);
  CHECK(backoff.peek() == 20ms);
  backoff.restartFrom(60ms);
  CHECK(backoff.next() == 60ms);
  CHECK(backoff.next() == 100ms);  // the cap still holds
}
