#include "plugin/inventory.h"

namespace udp::plugin {

bool Inventory::upsert(Device device) {
  auto it = devices_.find(device.id);
  if (it != devices_.end()) {
    if (it->second == device) return false;
    healthy_ -= it->second.healthy ? 1 : 0;
    healthy_ += device.healthy ? 1 : 0;
    it->second = std::move(device);
  } else {
    healthy_ += device.healthy ? 1 : 0;
    std::string id = device.id;
    devices_.emplace(std::move(id), std::move(device));
  }
  dirty_ = true;
  ++generation_;
  return true;
}

bool Inventory::remove(std::string_view id) {
  auto it = devices_.find(id);
  if (it == devices_.end()) return false;
  healthy_ -= it->second.healthy ? 1 : 0;
  devices_.erase(it);
  dirty_ = true;
  ++generation_;
  return true;
}

const Device* Inventory::find(std::string_view id) const {
  auto it = devices_.find(id);
  return it == devices_.end() ? nullptr : &it->second;
}

}  // namespace udp::plugin
