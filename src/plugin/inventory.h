#pragma once

// The devices of one resource, keyed by ID, and whether they changed since the kubelet last
// heard about them.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "plugin/device.h"

namespace udp::plugin {

class Inventory {
 public:
  // Return whether anything changed.
  bool upsert(Device device);
  bool remove(std::string_view id);

  const Device* find(std::string_view id) const;
  const std::map<std::string, Device, std::less<>>& devices() const { return devices_; }
  // Kept as devices come and go: the daemon reads it every reactor turn.
  size_t healthyCount() const { return healthy_; }

  bool dirty() const { return dirty_; }
  // Counts changes; lets other consumers (the CDI spec) tell whether they are behind.
  uint64_t generation() const { return generation_; }
  void markClean() { dirty_ = false; }

 private:
  std::map<std::string, Device, std::less<>> devices_;  // ordered: stable lists for the kubelet
  bool dirty_ = true;                                   // the first list is always owed
  size_t healthy_ = 0;
  uint64_t generation_ = 1;
};

}  // namespace udp::plugin
