// appendJsonString on any bytes: the literal is valid UTF-8 (checked here by code point
// arithmetic, not by the writer's table), holds no raw control character, and leaves well-formed
// input that needs no escape exactly as it was.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../support/strict_utf8.h"
#include "util/json_writer.h"

using udp::testing::strictUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string out;
  udp::appendJsonString(out, input);
  if (out.size() < 2 || out.front() != '"' || out.back() != '"') abort();
  if (!strictUtf8(out)) abort();
  bool plain = true;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x20) abort();
    if (i > 0 && i + 1 < out.size() && c == '"' && out[i - 1] != '\\') abort();
  }
  for (unsigned char c : input) plain = plain && c >= 0x20 && c != '"' && c != '\\';
  if (plain && strictUtf8(input) && out != "\"" + std::string(input) + "\"") abort();
  return 0;
}
