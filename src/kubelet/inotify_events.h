#pragma once

// Parsing what read(2) returns from an inotify fd: a pure function, fuzzed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace udp::kubelet {

struct InotifyEvent {
  int watch = -1;
  uint32_t mask = 0;
  std::string name;  // empty for events on the watched directory itself
};

// Parses whole records; a truncated trailing record is ignored (the kernel never splits one, so
// it means the input was not from the kernel).
std::vector<InotifyEvent> parseInotifyEvents(std::string_view bytes);

}  // namespace udp::kubelet
