// parseMinorVersion on any bytes: no crash, no leak, no undefined behaviour; a minor version it
// accepts has at most four digits.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dra/server_version.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udp::Result<int> minor = udp::dra::parseMinorVersion(input);
  if (minor.ok() && (*minor < 0 || *minor > 9999)) abort();
  return 0;
}
