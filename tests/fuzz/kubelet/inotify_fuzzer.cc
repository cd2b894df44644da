// parseInotifyEvents on arbitrary bytes: never reads past the input, and every event it returns
// accounts for bytes that were really there.

#include <sys/inotify.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kubelet/inotify_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto events = udp::kubelet::parseInotifyEvents(bytes);
  size_t consumed = 0;
  for (const auto& event : events) {
    consumed += sizeof(inotify_event);
    if (event.name.find('\0') != std::string::npos) abort();
    consumed += event.name.size();
  }
  if (consumed > size) abort();
  return 0;
}
