#pragma once

// What the driver needs to know of ResourceSlices already at the API server: to reconcile the
// slices an earlier run left (LIST, by field selector spec.nodeName and spec.driver) and to learn
// the resourceVersion a create or update answered with. Pure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace udp::dra {

struct ResourceSliceInfo {
  std::string name;             // metadata.name
  std::string resourceVersion;  // metadata.resourceVersion: what an update (PUT) must name
  std::string driver;           // spec.driver
  std::string nodeName;         // spec.nodeName; empty for slices not bound to one node
  std::string poolName;         // spec.pool.name
  int64_t poolGeneration = 0;
  int64_t resourceSliceCount = 0;
  size_t deviceCount = 0;  // entries of spec.devices

  bool operator==(const ResourceSliceInfo&) const = default;
};

struct ResourceSliceList {
  std::vector<ResourceSliceInfo> items;
  std::string continueToken;    // metadata.continue: non-empty when another page follows
  std::string resourceVersion;  // metadata.resourceVersion: where a WATCH continues from

  bool operator==(const ResourceSliceList&) const = default;
};

// A ResourceSliceList (the body of a LIST) within kListLimits. An error when the text is not
// JSON, is of another kind, an item lacks metadata.name, spec.driver or spec.pool.name, or a
// member has the wrong type; the message names the path (items[3].spec.pool.generation).
Result<ResourceSliceList> parseResourceSliceList(std::string_view json);

// One ResourceSlice (the body a create, update or GET answers with), within kObjectLimits.
Result<ResourceSliceInfo> parseResourceSlice(std::string_view json);

}  // namespace udp::dra
