#include "dra/claim_parser.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::dra {
namespace {

// As a 1.34 API server answers GET .../namespaces/default/resourceclaims/worker-0-serial-x7k2p.
const char* const kAllocated = R"({
  "kind": "ResourceClaim",
  "apiVersion": "resource.k8s.io/v1",
  "metadata": {
    "name": "worker-0-serial-x7k2p",
    "generateName": "worker-0-serial-",
    "namespace": "default",
    "uid": "5eed0000-1b2c-4d5e-8f90-000000001eef",
    "resourceVersion": "48213",
    "creationTimestamp": "2025-09-01T10:00:00Z",
    "annotations": {"resource.kubernetes.io/pod-claim-name": "serial"},
    "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "worker-0",
                         "uid": "0f0e0d0c-1b2c-4d5e-8f90-000000000001", "controller": true}],
    "finalizers": ["resource.kubernetes.io/delete-protection"],
    "managedFields": [{"manager": "kube-scheduler", "operation": "Update",
                       "fieldsType": "FieldsV1",
                       "fieldsV1": {"f:status": {"f:allocation": {".": {}}}},
                       "subresource": "status"}]
  },
  "spec": {"devices": {"requests": [{"name": "serial", "exactly": {
    "deviceClassName": "serial.example.com", "allocationMode": "ExactCount", "count": 2}}]}},
  "status": {
    "allocation": {
      "devices": {"results": [
        {"request": "serial", "driver": "udev.example.com", "pool": "node-1",
         "device": "serial-a1b2c3-ba9bf764"},
        {"request": "serial", "driver": "other.example.com", "pool": "node-1", "device": "gpu-0",
         "adminAccess": false, "tolerations": []}
      ]},
      "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]},
      "allocationTimestamp": "2025-09-01T10:00:01Z"
    },
    "reservedFor": [
      {"resource": "pods", "name": "worker-0", "uid": "0f0e0d0c-1b2c-4d5e-8f90-000000000001"}
    ]
  }
})";

TEST_CASE("an allocated, reserved claim as the API server sends it") {
  Result<ResourceClaim> claim = parseResourceClaim(kAllocated);
  REQUIRE(claim.ok());
  CHECK(claim->namespaceName == "default");
  CHECK(claim->name == "worker-0-serial-x7k2p");
  CHECK(claim->uid == "5eed0000-1b2c-4d5e-8f90-000000001eef");
  CHECK(claim->resourceVersion == "48213");
  CHECK(claim->allocated);
  REQUIRE(claim->results.size() == 2);
  CHECK(claim->results[0] ==
        AllocationResult{"serial", "udev.example.com", "node-1", "serial-a1b2c3-ba9bf764"});
  CHECK(claim->results[1].driver == "other.example.com");  // filtering is the caller's
  REQUIRE(claim->reservedFor.size() == 1);
  CHECK(claim->reservedFor[0] ==
        ConsumerReference{"pods", "worker-0", "0f0e0d0c-1b2c-4d5e-8f90-000000000001"});
}

TEST_CASE("a claim not yet allocated; null and empty members read as absent") {
  for (const char* json :
       {R"({"metadata":{"name":"c","namespace":"ns","uid":"u"},"spec":{}})",
        R"({"metadata":{"name":"c","namespace":"ns","uid":"u"},"status":{}})",
        R"({"metadata":{"name":"c","namespace":"ns","uid":"u"},"status":null})",
        R"({"metadata":{"name":"c","namespace":"ns","uid":"u"},"status":{"allocation":null,
            "reservedFor":null}})"}) {
    INFO(json);
    Result<ResourceClaim> claim = parseResourceClaim(json);
    REQUIRE(claim.ok());
    CHECK_FALSE(claim->allocated);
    CHECK(claim->results.empty());
    CHECK(claim->reservedFor.empty());
    CHECK(claim->resourceVersion.empty());
  }
  Result<ResourceClaim> empty = parseResourceClaim(
      R"({"metadata":{"name":"c","uid":"u"},"status":{"allocation":{"devices":{}}}})");
  REQUIRE(empty.ok());
  CHECK(empty->allocated);
  CHECK(empty->results.empty());
}

// The error message for `json`, or "" when it parsed.
std::string errorOf(const std::string& json) {
  Result<ResourceClaim> claim = parseResourceClaim(json);
  return claim.ok() ? std::string() : claim.error().message;
}

TEST_CASE("malformed claims are errors that say where") {
  CHECK(errorOf("") == "ResourceClaim: invalid JSON at byte 0: The document is empty.");
  CHECK(errorOf("{\"metadata\":").starts_with("ResourceClaim: invalid JSON at byte 12"));
  CHECK(errorOf("[]") == "ResourceClaim: (root): expected an object");
  CHECK(errorOf(R"({"metadata":{"uid":"u"}})") == "ResourceClaim: metadata.name: missing");
  CHECK(errorOf(R"({"metadata":{"name":"c"}})") == "ResourceClaim: metadata.uid: missing");
  CHECK(errorOf(R"({"metadata":{"name":7,"uid":"u"}})") ==
        "ResourceClaim: metadata.name: expected a string");
  CHECK(errorOf(R"({"metadata":[],"spec":{}})") == "ResourceClaim: metadata: expected an object");
  CHECK(errorOf(R"({"kind":"Status","code":404,"metadata":{}})") ==
        "ResourceClaim: kind: is Status, not ResourceClaim");
  const std::string base = R"({"metadata":{"name":"c","uid":"u"},"status":)";
  CHECK(errorOf(base + R"({"allocation":{"devices":{"results":{}}}}})") ==
        "ResourceClaim: status.allocation.devices.results: expected an array");
  CHECK(errorOf(base + R"({"allocation":{"devices":{"results":[1]}}}})") ==
        "ResourceClaim: status.allocation.devices.results[0]: expected an object");
  CHECK(
      errorOf(
          base +
          R"({"allocation":{"devices":{"results":[{"request":"r","driver":"d","pool":"p"}]}}}})") ==
      "ResourceClaim: status.allocation.devices.results[0].device: missing");
  CHECK(errorOf(base + R"({"reservedFor":[{"resource":"pods","name":"p"}]}})") ==
        "ResourceClaim: status.reservedFor[0].uid: missing");
  CHECK(errorOf(base + R"({"reservedFor":"pods"}})") ==
        "ResourceClaim: status.reservedFor: expected an array");
}

TEST_CASE("limits: trailing bytes, invalid UTF-8, depth and size") {
  const std::string ok = R"({"metadata":{"name":"c","uid":"u"}})";
  CHECK(errorOf(ok + "\n").empty());
  CHECK(errorOf(ok + " {}").starts_with("ResourceClaim: invalid JSON at byte"));
  CHECK(
      errorOf(ok + std::string(1, '\0') + "x").starts_with("ResourceClaim: invalid JSON at byte"));
  CHECK(errorOf(R"({"metadata":{"name":"c)"
                "\xff"
                R"(","uid":"u"}})")
            .ends_with("Invalid encoding in string."));
  // Escapes that would make ill-formed UTF-8: an unpaired high or low surrogate.
  CHECK(errorOf(R"({"metadata":{"name":"a\ud800b","uid":"u"}})")
            .ends_with("The surrogate pair in string is invalid."));
  CHECK(errorOf(R"({"metadata":{"name":"a\udc00b","uid":"u"}})")
            .ends_with("a string escapes a lone UTF-16 surrogate"));
  CHECK(errorOf(R"({"metadata":{"name":"\ud83d\ude00 \u00e9","uid":"u"}})").empty());

  std::string deep = R"({"metadata":{"name":"c","uid":"u"},"spec":)";
  deep += std::string(63, '[');
  std::string deepOk = deep + std::string(63, ']') + "}";
  CHECK(errorOf(deepOk).empty());  // 64 levels with the root
  std::string tooDeep = deep + "[" + std::string(64, ']') + "}";
  CHECK(errorOf(tooDeep).ends_with("nested deeper than 64 levels"));
  // Far deeper than any stack would take: refused at the limit, not recursed into.
  CHECK(errorOf(std::string(1000000, '[')).ends_with("nested deeper than 64 levels"));

  std::string big =
      R"({"metadata":{"name":"c","uid":"u","x":")" + std::string(7u << 20, 'a') + "\"}}";
  Result<ResourceClaim> claim = parseResourceClaim(big);
  REQUIRE_FALSE(claim.ok());
  CHECK(claim.error().code == -E2BIG);
}

}  // namespace
}  // namespace udp::dra
