// appendJsonString on any bytes: the literal is valid UTF-8 (checked here by code point
// arithmetic, not by the writer's table), holds no raw control character, and leaves well-formed
// input that needs no escape exactly as it was.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "util/json_writer.h"

namespace {

bool validUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    size_t n = c < 0x80             ? 1
               : (c & 0xe0) == 0xc0 ? 2
               : (c & 0xf0) == 0xe0 ? 3
               : (c & 0xf8) == 0xf0 ? 4
                                    : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      if ((b(i + k) & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b(i + k) & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string out;
  udp::appendJsonString(out, input);
  if (out.size() < 2 || out.front() != '"' || out.back() != '"') abort();
  if (!validUtf8(out)) abort();
  bool plain = true;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x20) abort();
    if (i > 0 && i + 1 < out.size() && c == '"' && out[i - 1] != '\\') abort();
  }
  for (unsigned char c : input) plain = plain && c >= 0x20 && c != '"' && c != '\\';
  if (plain && validUtf8(input) && out != "\"" + std::string(input) + "\"") abort();
  return 0;
}
