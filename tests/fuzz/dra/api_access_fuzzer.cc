// accessOf on any method and path (the input's first line is the method): no crash, no
// undefined behaviour; a resource request has a resource and (given a method) a verb, a
// non-resource request names its URL, and never both.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dra/api_access.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view method = input.substr(0, newline);
  std::string_view path = newline == std::string_view::npos ? "" : input.substr(newline + 1);
  udp::dra::ApiAccess access = udp::dra::accessOf(method, path);
  const bool resource = !access.resource.empty(), url = !access.nonResourceUrl.empty();
  // Exactly one of the two, unless there is no path at all.
  if (resource == url && !path.substr(0, path.find('?')).empty()) abort();
  if (resource && access.verb.empty() && !method.empty()) abort();
  if (url && !access.apiGroup.empty()) abort();
  (void)udp::dra::permitted(access);
  return 0;
}
