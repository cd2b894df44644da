// Our gRPC server connection against nghttp2's client role over a socketpair: request checks,
// trailers, errors, and :authority forms, stepping our reactor one turn at a time.

#include "grpc/server_connection.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

#include "grpc/framing.h"
#include "grpc_test_peer.h"

using namespace udp;
using namespace udp::testing;
using namespace std::chrono_literals;

TEST_CASE("a unary call: headers, one message, trailers with grpc-status 0") {
  Fixture f;
  auto headers = grpcHeaders("/t.S/Echo");
  headers.push_back({"grpc-timeout", "30S"});
  Response& r = f.finish(f.client->request(headers, framed("abc")));
  CHECK(r.headers[":status"] == "200");
  CHECK(r.headers["content-type"] == "application/grpc");
  CHECK(r.headers["grpc-status"] == "0");
  CHECK(r.body == framed("cba"));
  CHECK(f.service.lastAuthority == "localhost");
  REQUIRE(f.service.lastTimeout.has_value());
  CHECK(*f.service.lastTimeout == std::chrono::seconds(30));
}

TEST_CASE(":authority may be a socket path (kubelets before 1.26)") {
  Fixture f;
  auto id = f.client->request(
      grpcHeaders("/t.S/Echo", "/var/lib/kubelet/device-plugins/kubelet.sock"), framed("xy"));
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "0");
  CHECK(r.body == framed("yx"));
  CHECK(f.service.lastAuthority == "/var/lib/kubelet/device-plugins/kubelet.sock");
}

TEST_CASE("errors: grpc-message is percent-encoded in a trailers-only answer") {
  Fixture f;
  Response& r = f.finish(f.client->request(grpcHeaders("/t.S/Fail"), framed("")));
  CHECK(r.headers[":status"] == "200");
  CHECK(r.headers["grpc-status"] == "5");
  CHECK(r.headers["grpc-message"] == "no%0Asuch %25thing");
  CHECK(r.body.empty());
}

TEST_CASE("request checks") {
  Fixture f;
  SUBCASE("non-gRPC content-type is HTTP 415") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers.back().second = "application/json";
    Response& r = f.finish(f.client->request(headers, "{}"));
    CHECK(r.headers[":status"] == "415");
  }
  SUBCASE("application/grpc+proto is gRPC") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers.back().second = "application/grpc+proto";
    CHECK(f.finish(f.client->request(headers, framed("a"))).headers["grpc-status"] == "0");
  }
  SUBCASE("GET is HTTP 405") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers[0].second = "GET";
    CHECK(f.finish(f.client->request(headers, "")).headers[":status"] == "405");
  }
  SUBCASE("unknown method is UNIMPLEMENTED") {
    Response& r = f.finish(f.client->request(grpcHeaders("/t.S/Nope"), framed("")));
    CHECK(r.headers["grpc-status"] == "12");
    CHECK(r.headers["grpc-message"].find("/t.S/Nope") != std::string::npos);
  }
  SUBCASE("a request ending inside a message is INTERNAL") {
    std::string bytes = framed("abcdef").substr(0, 7);
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), bytes)).headers["grpc-status"] ==
          "13");
  }
  SUBCASE("two messages on a unary call are INVALID_ARGUMENT") {
    Response& r = f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("a") + framed("b")));
    CHECK(r.headers["grpc-status"] == "3");
  }
  SUBCASE("no message at all is INVALID_ARGUMENT") {
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), "")).headers["grpc-status"] == "3");
  }
  SUBCASE("the compressed flag is UNIMPLEMENTED") {
    std::string bytes = framed("abc");
    bytes[0] = 1;
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), bytes)).headers["grpc-status"] ==
          "12");
  }
  SUBCASE("a message over 4 MiB is RESOURCE_EXHAUSTED, known from its header alone") {
    std::string header("\x00\x00\x40\x00\x01", 5);  // 4 MiB + 1
    CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), header)).headers["grpc-status"] ==
          "8");
  }
  SUBCASE("a malformed grpc-timeout is INTERNAL") {
    auto headers = grpcHeaders("/t.S/Echo");
    headers.push_back({"grpc-timeout", "123456789S"});
    CHECK(f.finish(f.client->request(headers, framed("a"))).headers["grpc-status"] == "13");
  }
  // The connection still serves a good call after every one of these.
  CHECK(f.finish(f.client->request(grpcHeaders("/t.S/Echo"), framed("ok"))).body == framed("ko"));
}

TEST_CASE("a stream: superseded messages never queue up; finish sends trailers") {
  Fixture f;
  int32_t id = openWatch(f);
  f.service.open->finish(grpc::Status::Ok());
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "0");
  // Whatever nghttp2 had not taken yet was replaced: the last message always arrives, and
  // never after an older one.
  CHECK(r.body.size() >= framed("three").size());
  CHECK(r.body.substr(r.body.size() - framed("three").size()) == framed("three"));
}

TEST_CASE("a slow reader holds at most the message it is receiving and the newest one") {
  Fixture f;
  int32_t id = openWatch(f);
  // Each update is larger than what the reader takes between two of them, so one is always
  // partly sent when the next arrives. Bytes already sent must not stay queued behind it (they
  // did: 60 updates then held ~18 MB and hit the 16 MiB bound, which drops the connection).
  constexpr size_t kSize = 300 * 1024;
  std::vector<std::weak_ptr<const std::string>> written;
  for (int i = 0; i < 60; ++i) {
    auto message = std::make_shared<const std::string>(kSize, static_cast<char>('a' + i % 26));
    written.push_back(message);
    REQUIRE(f.service.open->writeShared(std::move(message), true));
    f.reactor->runOnce(1ms);
    f.client->pump();
    size_t alive =
        std::count_if(written.begin(), written.end(), [](const auto& w) { return !w.expired(); });
    CHECK(alive <= 2);
  }
  f.service.open->finish(grpc::Status::Ok());
  Response& r = f.finish(id);
  CHECK(r.headers["grpc-status"] == "0");
  std::vector<std::string> messages;
  grpc::FrameDecoder decoder(8 * kSize);
  REQUIRE(decoder.feed(r.body, messages) == grpc::DecodeStatus::kOk);
  CHECK_FALSE(decoder.hasPartialMessage());
  MESSAGE(messages.size() << " messages arrived of 3 + 60 written");
  REQUIRE(messages.size() >= 2);
  CHECK(messages.back() == std::string(kSize, static_cast<char>('a' + 59 % 26)));
  // Whole messages only: the three the stream opened with, then whole updates.
  for (const std::string& m : messages) CHECK((m.size() == kSize || m.size() <= 5));
  for (const auto& w : written) CHECK(w.expired());
}
