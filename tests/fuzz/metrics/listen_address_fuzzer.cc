// libFuzzer target for --metrics-address parsing: no input crashes it, and whatever it accepts
// formats to a canonical text that parses back to the same address.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metrics/listen_address.h"

namespace {

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "listen_address_fuzzer: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = udp::metrics::parseListenAddress(input);
  if (!parsed) {
    require(parsed.error().code < 0 && !parsed.error().message.empty(), "error without a why");
    return 0;
  }
  const std::string text = udp::metrics::formatListenAddress(*parsed);
  auto again = udp::metrics::parseListenAddress(text);
  require(again.ok(), "the canonical text does not parse");
  require(*again == *parsed, "format/parse round trip differs");
  require(udp::metrics::formatListenAddress(*again) == text, "canonical text is not stable");
  if (parsed->kind == udp::metrics::ListenAddress::Kind::kUnix) {
    require(input.substr(5) == parsed->path, "unix path changed");
    require(!parsed->path.empty() && parsed->path[0] == '/', "relative unix path accepted");
  }
  return 0;
}
