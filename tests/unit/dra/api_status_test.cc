#include "dra/api_status.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::dra {
namespace {

TEST_CASE("a 409 Conflict: re-read and retry") {
  Result<ApiStatus> status = parseStatus(
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
      R"("message":"Operation cannot be fulfilled on resourceslices.resource.k8s.io \"n-d-0\": )"
      R"(the object has been modified; please apply your changes to the latest version and try )"
      R"(again","reason":"Conflict","details":{"name":"n-d-0","group":"resource.k8s.io",)"
      R"("kind":"resourceslices"},"code":409})");
  REQUIRE(status.ok());
  CHECK(status->code == 409);
  CHECK(status->status == "Failure");
  CHECK(status->reason == "Conflict");
  CHECK(status->message.starts_with("Operation cannot be fulfilled"));
  CHECK(status->retryAfterSeconds == 0);
}

TEST_CASE("429 with retryAfterSeconds; a Success status") {
  Result<ApiStatus> busy = parseStatus(
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too many requests",)"
      R"("reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429})");
  REQUIRE(busy.ok());
  CHECK(busy->retryAfterSeconds == 3);
  Result<ApiStatus> deleted = parseStatus(
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",)"
      R"("details":{"name":"n-d-1","group":"resource.k8s.io","kind":"resourceslices","uid":"x"}})");
  REQUIRE(deleted.ok());
  CHECK(deleted->status == "Success");
  CHECK(deleted->code == 0);
}

std::string errorOf(const std::string& json) {
  Result<ApiStatus> status = parseStatus(json);
  return status.ok() ? std::string() : status.error().message;
}

TEST_CASE("not a Status") {
  CHECK(errorOf("<html>502 Bad Gateway</html>").starts_with("Status: invalid JSON at byte 0"));
  CHECK(errorOf("[]") == "Status: (root): expected an object");
  CHECK(errorOf(R"({"code":409})") == "Status: kind: missing");
  CHECK(errorOf(R"({"kind":"ResourceSlice"})") == "Status: kind: is ResourceSlice, not Status");
  CHECK(errorOf(R"({"kind":"Status","code":"409"})") == "Status: code: expected an integer");
  CHECK(errorOf(R"({"kind":"Status","code":4294967296})") == "Status: code: out of range");
  CHECK(errorOf(R"({"kind":"Status","code":-1})") == "Status: code: out of range");
  CHECK(errorOf(R"({"kind":"Status","message":["a"]})") == "Status: message: expected a string");
  CHECK(errorOf(R"({"kind":"Status","details":{"retryAfterSeconds":"3"}})") ==
        "Status: details.retryAfterSeconds: expected an integer");
}

}  // namespace
}  // namespace udp::dra
