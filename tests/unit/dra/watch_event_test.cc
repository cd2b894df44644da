#include "dra/watch_event.h"

#include <doctest/doctest.h>

#include <string>

#include "dra/api_status.h"
#include "dra/claim_parser.h"

namespace udp::dra {
namespace {

const std::string kClaim =
    R"({"kind":"ResourceClaim","apiVersion":"resource.k8s.io/v1","metadata":{"name":"c1",)"
    R"("namespace":"default","uid":"u1","resourceVersion":"501","managedFields":[{"manager":"m",)"
    R"("fieldsV1":{"f:metadata":{"f:name":{}}}}]},"spec":{"devices":{"requests":[]}},)"
    R"("status":{"reservedFor":[{"resource":"pods","name":"p","uid":"pu"}]}})";

TEST_CASE("an event: its type, its object's text, resourceVersion and name") {
  const std::string line = R"({"type":"MODIFIED","object":)" + kClaim + "}\n";
  Result<WatchEvent> event = parseWatchEvent(line);
  REQUIRE(event.ok());
  CHECK(event->type == WatchEventType::kModified);
  CHECK(event->object == kClaim);
  CHECK(event->resourceVersion == "501");
  CHECK(event->name == "c1");
  // The object's text is a claim of its own.
  Result<ResourceClaim> claim = parseResourceClaim(event->object);
  REQUIRE(claim.ok());
  CHECK(claim->uid == "u1");
  CHECK(claim->reservedFor.size() == 1);
}

TEST_CASE("every type; members in any order; nested metadata ignored") {
  for (WatchEventType type :
       {WatchEventType::kAdded, WatchEventType::kModified, WatchEventType::kDeleted,
        WatchEventType::kBookmark, WatchEventType::kError}) {
    // The event's object is a view into the line: the line outlives it.
    const std::string line =
        R"({"object":{"spec":{"template":{"metadata":{"resourceVersion":"no","name":"no"}}},)"
        R"("metadata":{"resourceVersion":"7","name":"x"}},"type":")" +
        std::string(watchEventTypeName(type)) + "\"}";
    Result<WatchEvent> event = parseWatchEvent(line);
    REQUIRE(event.ok());
    CHECK(event->type == type);
    CHECK(event->resourceVersion == "7");
    CHECK(event->name == "x");
    CHECK(event->object.front() == '{');
    CHECK(event->object.back() == '}');
  }
}

TEST_CASE("a bookmark carries only where to resume") {
  Result<WatchEvent> event = parseWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"ResourceClaim","apiVersion":"resource.k8s.io/v1",)"
      R"("metadata":{"resourceVersion":"12345","creationTimestamp":null,)"
      R"("annotations":{"k8s.io/initial-events-end":"true"}},"spec":{"devices":{}},"status":{}}})");
  REQUIRE(event.ok());
  CHECK(event->type == WatchEventType::kBookmark);
  CHECK(event->resourceVersion == "12345");
  CHECK(event->name.empty());
}

TEST_CASE("an ERROR event's object is a Status: 410 Gone means list again") {
  Result<WatchEvent> event = parseWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
      R"j("status":"Failure","message":"too old resource version: 1 (48213)",)j"
      R"("reason":"Expired","code":410}})");
  REQUIRE(event.ok());
  CHECK(event->type == WatchEventType::kError);
  CHECK(event->resourceVersion.empty());
  Result<ApiStatus> status = parseStatus(event->object);
  REQUIRE(status.ok());
  CHECK(status->code == 410);
  CHECK(status->reason == "Expired");
}

std::string errorOf(const std::string& json) {
  Result<WatchEvent> event = parseWatchEvent(json);
  return event.ok() ? std::string() : event.error().message;
}

TEST_CASE("malformed events are errors") {
  CHECK(errorOf("").starts_with("watch event: invalid JSON at byte 0"));
  CHECK(errorOf(R"({"type":"ADDED","object":{})").starts_with("watch event: invalid JSON"));
  CHECK(errorOf("[]") == "watch event: expected an object");
  CHECK(errorOf("null") == "watch event: expected an object");
  CHECK(errorOf("\"ADDED\"") == "watch event: expected an object");
  CHECK(errorOf(R"({"object":{}})") == "watch event: type missing");
  CHECK(errorOf(R"({"type":"added","object":{}})") == "watch event: unknown type \"added\"");
  CHECK(errorOf(R"({"type":"ADDED"})") == "watch event: object missing");
  CHECK(errorOf(R"({"type":"ADDED","object":null})") == "watch event: object missing");
  CHECK(errorOf(R"({"type":"ADDED","object":"x"})").ends_with("expected an object"));
  CHECK(errorOf(R"({"type":"ADDED","object":[1]})").ends_with("expected an object, not an array"));
  CHECK(errorOf(R"({"type":1,"object":{}})").ends_with("expected a string, not a number"));
  CHECK(errorOf(R"({"type":{},"object":{}})").ends_with("expected a string"));
  CHECK(errorOf(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":5}}})")
            .ends_with("expected a string, not a number"));
  CHECK(errorOf(R"({"type":"ADDED","object":{"metadata":"m"}})").ends_with("expected an object"));
  CHECK(errorOf(R"({"type":"ADDED","object":{}} {})").starts_with("watch event: invalid JSON"));
  CHECK(errorOf(R"({"type":"ADDED","object":{"a":)" + std::string(100, '[') + "}")
            .ends_with("nested deeper than 64 levels"));
  // Null reads as absent, as everywhere in Kubernetes.
  CHECK(errorOf(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":null}}})").empty());
}

TEST_CASE("a repeated object member: the last one counts, as for Go's decoder") {
  Result<WatchEvent> event =
      parseWatchEvent(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"1","name":"a"}},)"
                      R"("object":{"metadata":{"resourceVersion":"2"}}})");
  REQUIRE(event.ok());
  CHECK(event->resourceVersion == "2");
  CHECK(event->name.empty());
  CHECK(event->object == R"({"metadata":{"resourceVersion":"2"}})");
}

}  // namespace
}  // namespace udp::dra
