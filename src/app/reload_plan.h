#pragma once

// What a SIGHUP changes (pure; DESIGN.md §2): a resource whose rules did not change keeps its
// runtime, and with it its socket, registration and open streams; one removed or changed is
// retired; one added or changed is made anew, after the old one released its socket.

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "config/config.h"

namespace udp::app {

struct ReloadPlan {
  // Per resource of the new config, in its order: the index of the running resource it keeps,
  // or nullopt when it is made anew.
  std::vector<std::optional<size_t>> keep;
  // Running resources removed or changed, in their order.
  std::vector<size_t> retire;

  size_t unchanged() const;
};

ReloadPlan planReload(std::span<const config::Resource> running,
                      std::span<const config::Resource> next);

}  // namespace udp::app
