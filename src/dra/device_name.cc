#include "dra/device_name.h"

#include <algorithm>

#include "governance/sha256.h"

namespace udp::dra {
namespace {

constexpr size_t kHashDigits = 8;

bool lowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])? of any length.
bool labelChars(std::string_view text) {
  if (text.empty() || !lowerAlnum(text.front()) || !lowerAlnum(text.back())) return false;
  for (char c : text) {
    if (!lowerAlnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool isDnsLabel(std::string_view text) {
  return text.size() <= kMaxDeviceNameLength && labelChars(text);
}

// Label by label: clang 14 miscompiles (-O2 with -fsanitize=fuzzer) the one-pass form that
// tracks the previous character.
bool isDnsSubdomain(std::string_view text, size_t maxLength) {
  if (text.size() > maxLength) return false;
  for (size_t start = 0;;) {
    const size_t dot = text.find('.', start);
    if (!labelChars(text.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string deviceNameFor(std::string_view resourceName, std::string_view deviceId) {
  const size_t slash = resourceName.rfind('/');
  const std::string_view shortName =
      slash == std::string_view::npos ? resourceName : resourceName.substr(slash + 1);

  bool lossless = !shortName.empty() && !deviceId.empty();
  for (char c : shortName) lossless = lossless && lowerAlnum(c);
  std::string name;
  name.reserve(shortName.size() + 1 + deviceId.size());
  const auto append = [&](std::string_view part) {
    for (char c : part) {
      if (lowerAlnum(c) || c == '-') {
        name += c;
      } else if (c >= 'A' && c <= 'Z') {
        name += static_cast<char>(c - 'A' + 'a');
        lossless = false;
      } else {
        name += '-';
        lossless = false;
      }
    }
  };
  append(shortName);
  name += '-';
  append(deviceId);
  if (lossless && isDnsLabel(name)) return name;

  std::string hash = governance::sha256Hex(std::string(resourceName) + '\n' + std::string(deviceId))
                         .substr(0, kHashDigits);
  name.resize(std::min(name.size(), kMaxDeviceNameLength - 1 - kHashDigits));
  const size_t first = name.find_first_not_of('-');
  if (first == std::string::npos) return hash;  // nothing readable left: the hash is a label
  const size_t last = name.find_last_not_of('-');
  return name.substr(first, last - first + 1) + '-' + hash;
}

}  // namespace udp::dra
