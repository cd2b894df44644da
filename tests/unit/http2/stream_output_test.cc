// StreamOutput on its own: what nghttp2's data provider takes, message boundaries kept for
// dropUnstarted, shared bodies released once taken.

#include "http2/stream_output.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using udp::http2::StreamOutput;

namespace {

std::string takeAll(StreamOutput& out, size_t chunk) {
  std::string got;
  uint8_t buf[64];
  REQUIRE(chunk <= sizeof buf);
  while (size_t n = out.take(buf, chunk)) got.append(reinterpret_cast<char*>(buf), n);
  return got;
}

}  // namespace

TEST_CASE("messages come out in order, in chunks of any size") {
  StreamOutput out;
  out.append("hello");
  auto body = std::make_shared<const std::string>("world!");
  out.appendShared("[5]", body);
  CHECK(out.queued() == 5 + 3 + 6);
  CHECK(takeAll(out, 4) == "hello[5]world!");
  CHECK(out.queued() == 0);
}

TEST_CASE("a shared body is let go as soon as it is taken, not when the stream ends") {
  StreamOutput out;
  std::weak_ptr<const std::string> weak;
  {
    auto body = std::make_shared<const std::string>(40, 'b');
    weak = body;
    out.appendShared("p", std::move(body));
  }
  out.append("next");
  uint8_t buf[64];
  CHECK(out.take(buf, 30) == 30);
  CHECK_FALSE(weak.expired());  // partly taken: still needed
  CHECK(out.take(buf, 11) == 11);
  CHECK(weak.expired());
  CHECK(out.queued() == 4);
}

TEST_CASE("dropUnstarted drops whole messages and never cuts the one being sent") {
  StreamOutput out;
  out.append("aaaa");
  out.appendShared("<", std::make_shared<const std::string>("bbbb"));
  out.append("cccc");
  SUBCASE("nothing taken: everything goes") {
    out.dropUnstarted();
    CHECK(out.queued() == 0);
    uint8_t buf[8];
    CHECK(out.take(buf, sizeof buf) == 0);
  }
  SUBCASE("the first message started: it stays, the rest goes") {
    uint8_t buf[8];
    REQUIRE(out.take(buf, 2) == 2);
    out.dropUnstarted();
    CHECK(out.queued() == 2);
    out.append("dddd");
    CHECK(takeAll(out, 3) == "aadddd");
  }
  SUBCASE("a shared message started in its prefix: prefix and body stay together") {
    uint8_t buf[8];
    REQUIRE(out.take(buf, 4) == 4);  // "aaaa" done
    REQUIRE(out.take(buf, 1) == 1);  // "<" of the second
    out.dropUnstarted();
    CHECK(takeAll(out, 8) == "bbbb");
  }
  SUBCASE("a message taken exactly to its end is not kept") {
    uint8_t buf[8];
    REQUIRE(out.take(buf, 4) == 4);
    out.dropUnstarted();
    CHECK(out.queued() == 0);
  }
}

TEST_CASE("finish keeps the trailers for the end") {
  StreamOutput out;
  out.append("x");
  CHECK_FALSE(out.finishing());
  out.finish({{"grpc-status", "0"}});
  CHECK(out.finishing());
  REQUIRE(out.trailers().size() == 1);
  CHECK(out.trailers()[0].value == "0");
  CHECK(out.queued() == 1);
}
