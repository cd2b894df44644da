// deviceNameFor on any resource name and device ID (split at the first NUL): always a DNS label
// (checked here by its own definition, not by the code under test), the same for the same input,
// and the readable "<short>-<id>" exactly when nothing had to be changed.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dra/device_name.h"

namespace {

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view resource = input.substr(0, nul);
  const std::string_view id = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  const std::string name = udp::dra::deviceNameFor(resource, id);
  if (!label(name)) abort();
  if (name != udp::dra::deviceNameFor(resource, id)) abort();

  const size_t slash = resource.rfind('/');
  const std::string_view shortName =
      slash == std::string_view::npos ? resource : resource.substr(slash + 1);
  bool plain = !shortName.empty();
  for (char c : shortName) plain = plain && alnum(c);
  const std::string readable = std::string(shortName) + "-" + std::string(id);
  plain = plain && label(readable);
  if (plain != (name == readable)) abort();
  return 0;
}
