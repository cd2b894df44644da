// parseStatus on any bytes: no crash, no leak, no undefined behaviour; a Status it accepts has a
// code that is a valid HTTP-like number and strings in valid UTF-8 (they go to the log).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../support/strict_utf8.h"
#include "dra/api_status.h"

using udp::testing::strictUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udp::Result<udp::dra::ApiStatus> status = udp::dra::parseStatus(input);
  if (!status.ok()) return 0;
  if (status->code < 0) abort();
  if (!strictUtf8(status->status) || !strictUtf8(status->reason) || !strictUtf8(status->message)) {
    abort();
  }
  return 0;
}
