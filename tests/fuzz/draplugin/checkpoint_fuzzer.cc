// parseCheckpoint on any bytes: never crashes, and what it accepts renders to a checkpoint that
// reads back the same (render ∘ parse is a fixed point), as valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../support/strict_utf8.h"
#include "draplugin/checkpoint.h"

using udp::testing::strictUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto claims = udp::draplugin::parseCheckpoint(input);
  if (!claims) {
    if (claims.error().message.empty()) abort();
    return 0;
  }
  std::string text = udp::draplugin::renderCheckpoint(*claims);
  if (!strictUtf8(text)) abort();
  auto again = udp::draplugin::parseCheckpoint(text);
  if (!again || !(*again == *claims)) abort();
  return 0;
}
