#include "udev/device_tracker.h"

#include <utility>

#include "udev/device_id.h"
#include "udev/matcher.h"

namespace udp::udev {

DeviceTracker::DeviceTracker(std::vector<config::Resource> resources)
    : resources_(std::move(resources)), states_(resources_.size()) {}

void DeviceTracker::update(const DeviceRecord& device, plugin::DeviceSink& sink) {
  for (size_t i = 0; i < resources_.size(); ++i) updateOne(i, device, sink);
}

void DeviceTracker::updateOne(size_t index, const DeviceRecord& device, plugin::DeviceSink& sink) {
  const config::Resource& resource = resources_[index];
  State& state = states_[index];
  auto it = state.bySyspath.find(device.syspath);
  if (!matchesResource(resource, device)) {
    if (it != state.bySyspath.end()) gone(index, it, sink);
    return;
  }

  plugin::Device next = describeDevice(resource, device);
  std::string wanted = sanitizeId(idSource(device), maxBaseIdLength(resource.shares));
  if (it != state.bySyspath.end() && it->second.wantedId == wanted) {
    next.id = it->second.device.id;
  } else {
    next.id = assignId(index, device.syspath, wanted, device.sysname);
  }

  if (it == state.bySyspath.end()) {
    it = state.bySyspath.emplace(device.syspath, Entry{}).first;
  } else if (it->second.device.id != next.id) {
    emitRemove(index, it->second.device.id, sink);
    state.syspathById.erase(it->second.device.id);
  } else if (it->second.present && it->second.device == next) {
    return;  // already reported exactly so, e.g. the add event of an enumerated device
  }
  Entry& entry = it->second;
  entry.wantedId = std::move(wanted);
  entry.device = next;
  entry.present = true;
  state.syspathById[next.id] = device.syspath;
  emitUpsert(index, next, sink);
}

void DeviceTracker::gone(size_t index, EntryIt it, plugin::DeviceSink& sink) {
  State& state = states_[index];
  Entry& entry = it->second;
  if (resources_[index].onRemove == config::OnRemove::kUnhealthy) {
    if (!entry.present) return;
    entry.present = false;
    entry.device.healthy = false;
    emitUpsert(index, entry.device, sink);
    return;
  }
  emitRemove(index, entry.device.id, sink);
  state.syspathById.erase(entry.device.id);
  state.bySyspath.erase(it);
}

bool DeviceTracker::idTaken(size_t index, const std::string& id, const std::string& syspath) {
  State& state = states_[index];
  auto owner = state.syspathById.find(id);
  if (owner == state.syspathById.end() || owner->second == syspath) return false;
  auto entry = state.bySyspath.find(owner->second);
  if (entry != state.bySyspath.end() && entry->second.present) return true;
  // A device kept as unhealthy after its removal hands its ID to a present device that wants the
  // same one: the same hardware plugged back, maybe under another kernel name. No remove is sent,
  // the upsert that follows replaces it under the same IDs.
  if (entry != state.bySyspath.end()) state.bySyspath.erase(entry);
  state.syspathById.erase(owner);
  return false;
}

std::string DeviceTracker::assignId(size_t index, const std::string& syspath,
                                    const std::string& wanted, const std::string& sysname) {
  if (!idTaken(index, wanted, syspath)) return wanted;
  // Two present devices want the same ID (e.g. a multi-port adapter with one serial): the later
  // one is told apart by its kernel name.
  size_t maxLength = maxBaseIdLength(resources_[index].shares);
  std::string base = wanted + "-" + sysname;
  std::string candidate = sanitizeId(base, maxLength);
  for (int n = 2; idTaken(index, candidate, syspath); ++n) {
    candidate = sanitizeId(base + "-" + std::to_string(n), maxLength);
  }
  return candidate;
}

void DeviceTracker::remove(std::string_view syspath, plugin::DeviceSink& sink) {
  for (size_t i = 0; i < resources_.size(); ++i) {
    auto it = states_[i].bySyspath.find(syspath);
    if (it != states_[i].bySyspath.end()) gone(i, it, sink);
  }
}

void DeviceTracker::move(std::string_view oldSyspath, const DeviceRecord& device,
                         plugin::DeviceSink& sink) {
  if (oldSyspath != device.syspath) {
    for (size_t i = 0; i < resources_.size(); ++i) {
      State& state = states_[i];
      auto old = state.bySyspath.find(oldSyspath);
      if (old == state.bySyspath.end()) continue;
      if (state.bySyspath.contains(device.syspath)) {
        // The new path is tracked already (its add came first): the old entry is just stale.
        auto node = state.bySyspath.extract(old);
        const std::string& oldId = node.mapped().device.id;
        auto owner = state.syspathById.find(oldId);
        if (owner != state.syspathById.end() && owner->second == node.key()) {
          state.syspathById.erase(owner);
          emitRemove(i, oldId, sink);
        }
        continue;
      }
      // Re-key the entry so that update() below keeps its ID when the ID does not depend on the
      // kernel name, and otherwise replaces it.
      auto node = state.bySyspath.extract(old);
      node.key() = device.syspath;
      state.syspathById[node.mapped().device.id] = device.syspath;
      state.bySyspath.insert(std::move(node));
    }
  }
  update(device, sink);
}

void DeviceTracker::removeAbsent(const std::set<std::string, std::less<>>& present,
                                 plugin::DeviceSink& sink) {
  for (size_t i = 0; i < resources_.size(); ++i) {
    State& state = states_[i];
    for (auto it = state.bySyspath.begin(); it != state.bySyspath.end();) {
      auto next = std::next(it);
      if (it->second.present && !present.contains(it->first)) gone(i, it, sink);
      it = next;
    }
  }
}

std::vector<plugin::Device> DeviceTracker::devices(std::string_view resource) const {
  std::vector<plugin::Device> out;
  for (size_t i = 0; i < resources_.size(); ++i) {
    if (resources_[i].name != resource) continue;
    for (const auto& [syspath, entry] : states_[i].bySyspath) {
      for (std::string& id : shareIds(entry.device.id, resources_[i].shares)) {
        out.push_back(entry.device);
        out.back().id = std::move(id);
      }
    }
  }
  return out;
}

void DeviceTracker::emitUpsert(size_t index, const plugin::Device& device,
                               plugin::DeviceSink& sink) const {
  const config::Resource& resource = resources_[index];
  for (std::string& id : shareIds(device.id, resource.shares)) {
    plugin::Device share = device;
    share.id = std::move(id);
    sink.upsertDevice(resource.name, std::move(share));
  }
}

void DeviceTracker::emitRemove(size_t index, const std::string& id,
                               plugin::DeviceSink& sink) const {
  const config::Resource& resource = resources_[index];
  for (const std::string& shareId : shareIds(id, resource.shares)) {
    sink.removeDevice(resource.name, shareId);
  }
}

}  // namespace udp::udev
