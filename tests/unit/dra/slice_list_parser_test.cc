#include "dra/slice_list_parser.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::dra {
namespace {

// GET /apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName=node-1,
// spec.driver=udev.example.com&limit=2, first page.
const char* const kPage = R"({
  "kind": "ResourceSliceList",
  "apiVersion": "resource.k8s.io/v1",
  "metadata": {"resourceVersion": "77001", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6Nzc"},
  "items": [
    {"metadata": {"name": "node-1-udev-example-com-0", "uid": "a", "resourceVersion": "76990",
                  "generation": 3, "labels": {"udev-device-plugin/driver": "udev.example.com"},
                  "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1",
                                       "uid": "n"}]},
     "spec": {"driver": "udev.example.com", "nodeName": "node-1",
              "pool": {"name": "node-1", "generation": 12, "resourceSliceCount": 2},
              "devices": [{"name": "zram-zram0", "attributes": {"kernel": {"string": "zram0"}}},
                          {"name": "zram-zram1"}]}},
    {"metadata": {"name": "node-1-udev-example-com-1", "resourceVersion": "76991"},
     "spec": {"driver": "udev.example.com", "nodeName": "node-1",
              "pool": {"name": "node-1", "generation": 12, "resourceSliceCount": 2}}}
  ]
})";

TEST_CASE("a page of ResourceSlices") {
  Result<ResourceSliceList> list = parseResourceSliceList(kPage);
  REQUIRE(list.ok());
  CHECK(list->resourceVersion == "77001");
  CHECK(list->continueToken == "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6Nzc");
  REQUIRE(list->items.size() == 2);
  CHECK(list->items[0] == ResourceSliceInfo{"node-1-udev-example-com-0", "76990",
                                            "udev.example.com", "node-1", "node-1", 12, 2, 2});
  CHECK(list->items[1].name == "node-1-udev-example-com-1");
  CHECK(list->items[1].deviceCount == 0);
}

TEST_CASE("the last page and an empty list") {
  Result<ResourceSliceList> list = parseResourceSliceList(
      R"({"kind":"ResourceSliceList","apiVersion":"resource.k8s.io/v1",
          "metadata":{"resourceVersion":"5"},"items":[]})");
  REQUIRE(list.ok());
  CHECK(list->items.empty());
  CHECK(list->continueToken.empty());
  CHECK(list->resourceVersion == "5");
  CHECK(parseResourceSliceList(R"({"metadata":{},"items":null})").ok());
}

TEST_CASE("one slice, as a create or update answers") {
  Result<ResourceSliceInfo> slice = parseResourceSlice(
      R"({"kind":"ResourceSlice","apiVersion":"resource.k8s.io/v1",
          "metadata":{"name":"n-d-0","resourceVersion":"900"},
          "spec":{"driver":"d.example.com","pool":{"name":"n","generation":1,
                  "resourceSliceCount":1},"allNodes":true}})");
  REQUIRE(slice.ok());
  CHECK(slice->name == "n-d-0");
  CHECK(slice->resourceVersion == "900");
  CHECK(slice->nodeName.empty());
  CHECK(slice->poolGeneration == 1);
}

std::string listError(const std::string& json) {
  Result<ResourceSliceList> list = parseResourceSliceList(json);
  return list.ok() ? std::string() : list.error().message;
}

TEST_CASE("malformed lists and slices say where") {
  CHECK(listError("nope") == "ResourceSliceList: invalid JSON at byte 1: Invalid value.");
  CHECK(listError(R"({"kind":"Status","code":403})") ==
        "ResourceSliceList: kind: is Status, not ResourceSliceList");
  CHECK(listError(R"({"items":{}})") == "ResourceSliceList: items: expected an array");
  CHECK(listError(R"({"items":[[]]})") == "ResourceSliceList: items[0]: expected an object");
  CHECK(listError(R"({"items":[{"metadata":{"name":"a"},"spec":{"pool":{"name":"p"}}}]})") ==
        "ResourceSliceList: items[0].spec.driver: missing");
  CHECK(listError(R"({"items":[{"metadata":{"name":"a"},"spec":{"driver":"d",
                     "pool":{"name":"p","generation":"1"}}}]})") ==
        "ResourceSliceList: items[0].spec.pool.generation: expected an integer");
  CHECK(listError(R"({"items":[{"metadata":{"name":"a"},"spec":{"driver":"d",
                     "pool":{"name":"p","generation":1.5}}}]})") ==
        "ResourceSliceList: items[0].spec.pool.generation: expected an integer");
  CHECK(listError(R"({"metadata":{"continue":false},"items":[]})") ==
        "ResourceSliceList: metadata.continue: expected a string");

  Result<ResourceSliceInfo> slice = parseResourceSlice(R"({"kind":"Status","code":409})");
  REQUIRE_FALSE(slice.ok());
  CHECK(slice.error().message == "ResourceSlice: kind: is Status, not ResourceSlice");
  slice = parseResourceSlice("17");
  REQUIRE_FALSE(slice.ok());
  CHECK(slice.error().message == "ResourceSlice: (root): expected an object");
}

}  // namespace
}  // namespace udp::dra
