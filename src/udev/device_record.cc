#include "udev/device_record.h"

namespace udp::udev {

std::string trimTrailingSpace(std::string_view value) {
  size_t end = value.find_last_not_of(" \t\r\n");
  return std::string(end == std::string_view::npos ? std::string_view() : value.substr(0, end + 1));
}

std::optional<std::string> MapAttributeReader::read(size_t level, std::string_view name) const {
  if (level >= levels_.size()) return std::nullopt;
  auto it = levels_[level].find(name);
  if (it == levels_[level].end()) return std::nullopt;
  return trimTrailingSpace(it->second);
}

}  // namespace udp::udev
