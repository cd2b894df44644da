#include "kubelet/inotify_events.h"

#include <sys/inotify.h>

#include <cstring>

namespace udp::kubelet {

std::vector<InotifyEvent> parseInotifyEvents(std::string_view bytes) {
  std::vector<InotifyEvent> events;
  size_t offset = 0;
  while (bytes.size() - offset >= sizeof(inotify_event)) {
    inotify_event header;
    memcpy(&header, bytes.data() + offset, sizeof header);  // the buffer may be unaligned
    size_t recordSize = sizeof(inotify_event) + header.len;
    if (header.len > bytes.size() - offset - sizeof(inotify_event)) break;
    InotifyEvent event;
    event.watch = header.wd;
    event.mask = header.mask;
    std::string_view name = bytes.substr(offset + sizeof(inotify_event), header.len);
    // The kernel pads the name with NULs to an aligned length.
    event.name = std::string(name.substr(0, name.find('\0')));
    events.push_back(std::move(event));
    offset += recordSize;
  }
  return events;
}

}  // namespace udp::kubelet
