// parseResourceSliceList and parseResourceSlice on any bytes: no crash, no leak, no undefined
// behaviour, and every slice accepted has a name, a driver and a pool, in valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../support/strict_utf8.h"
#include "dra/slice_list_parser.h"

using udp::testing::strictUtf8;

namespace {

void checkSlice(const udp::dra::ResourceSliceInfo& slice) {
  if (slice.name.empty() || slice.driver.empty() || slice.poolName.empty()) abort();
  if (!strictUtf8(slice.name) || !strictUtf8(slice.driver) || !strictUtf8(slice.poolName) ||
      !strictUtf8(slice.nodeName) || !strictUtf8(slice.resourceVersion)) {
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udp::Result<udp::dra::ResourceSliceList> list = udp::dra::parseResourceSliceList(input);
  if (list.ok()) {
    for (const udp::dra::ResourceSliceInfo& slice : list->items) checkSlice(slice);
    if (!strictUtf8(list->continueToken) || !strictUtf8(list->resourceVersion)) abort();
  }
  udp::Result<udp::dra::ResourceSliceInfo> slice = udp::dra::parseResourceSlice(input);
  if (slice.ok()) checkSlice(*slice);
  return 0;
}
