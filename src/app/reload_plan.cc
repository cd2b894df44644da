#include "app/reload_plan.h"

#include <algorithm>

namespace udp::app {

size_t ReloadPlan::unchanged() const {
  return static_cast<size_t>(
      std::count_if(keep.begin(), keep.end(), [](const auto& k) { return k.has_value(); }));
}

ReloadPlan planReload(std::span<const config::Resource> running,
                      std::span<const config::Resource> next) {
  ReloadPlan plan;
  std::vector<bool> taken(running.size(), false);
  for (const config::Resource& resource : next) {
    std::optional<size_t> kept;
    for (size_t i = 0; i < running.size(); ++i) {
      if (!taken[i] && running[i] == resource) {
        kept = i;
        taken[i] = true;
        break;
      }
    }
    plan.keep.push_back(kept);
  }
  for (size_t i = 0; i < running.size(); ++i) {
    if (!taken[i]) plan.retire.push_back(i);
  }
  return plan;
}

}  // namespace udp::app
