#include "udev/device_tracker.h"

#include <utility>

#include "udev/device_id.h"
#include "udev/matcher.h"

namespace udp::udev {

DeviceTracker::DeviceTracker(std::vector<config::Resource> resources)
    : resources_(std::move(resources)) {
  states_.reserve(resources_.size());
  for (const config::Resource& resource : resources_) {
    states_.emplace_back(maxBaseIdLength(resource.shares));
  }
}

void DeviceTracker::update(const DeviceRecord& device, plugin::DeviceSink& sink) {
  bool owned = false;  // by an earlier resource
  for (size_t i = 0; i < resources_.size(); ++i) {
    bool matches = matchesResource(resources_[i], device);
    bool belongs = matches && (!owned || resources_[i].shareDevicesWithEarlierResources);
    owned = owned || matches;
    updateOne(i, device, belongs);
    report(i, sink);
  }
}

void DeviceTracker::updateOne(size_t index, const DeviceRecord& device, bool belongs) {
  const config::Resource& resource = resources_[index];
  State& state = states_[index];
  auto it = state.bySyspath.find(device.syspath);
  if (!belongs) {
    if (it != state.bySyspath.end()) gone(index, it);
    return;
  }

  const std::string* idPath = device.property("ID_PATH");
  IdKeys keys{sanitizeId(idSource(device), maxBaseIdLength(resource.shares)),
              idPath != nullptr ? *idPath : std::string(),
              device.devpath.empty() ? device.syspath : device.devpath};
  plugin::Device next = describeDevice(resource, device);
  if (it == state.bySyspath.end()) {
    takeOver(state, keys, device.syspath);
    it = state.bySyspath.emplace(device.syspath, Entry{}).first;
  } else {
    Entry& entry = it->second;
    next.id = entry.device.id;
    // Already reported exactly so, e.g. the add event of an enumerated device.
    if (entry.present && entry.keys == keys && entry.device == next) return;
    if (entry.keys.wanted != keys.wanted) takeOver(state, keys, device.syspath);
  }
  Entry& entry = it->second;
  next.id = entry.device.id;
  entry.keys = keys;
  entry.device = std::move(next);
  entry.present = true;
  state.ids.set(device.syspath, keys);
  state.dirty.insert(device.syspath);
}

// A device kept as unhealthy after its removal gives way to a present device that wants the same
// ID: the same hardware plugged back, maybe under another kernel name, takes over its ID (the
// one at the same ID_PATH first). No remove is sent when the ID stays; the upsert replaces it.
void DeviceTracker::takeOver(State& state, const IdKeys& keys, const std::string& syspath) {
  std::string chosen;
  for (const std::string& other : state.ids.wanting(keys.wanted)) {
    auto it = state.bySyspath.find(other);
    if (other == syspath || it == state.bySyspath.end() || it->second.present) continue;
    if (!keys.idPath.empty() && it->second.keys.idPath == keys.idPath) {
      chosen = other;
      break;
    }
    if (chosen.empty()) chosen = other;
  }
  if (!chosen.empty()) drop(state, state.bySyspath.find(chosen));
}

void DeviceTracker::gone(size_t index, EntryIt it) {
  State& state = states_[index];
  Entry& entry = it->second;
  if (resources_[index].onRemove == config::OnRemove::kUnhealthy) {
    if (!entry.present) return;
    entry.present = false;
    entry.device.healthy = false;
    entry.device.healthReason = "removed";
    entry.device.removed = true;
    state.dirty.insert(it->first);
    return;
  }
  drop(state, it);
}

void DeviceTracker::drop(State& state, EntryIt it) {
  if (!it->second.device.id.empty()) state.orphans.push_back(it->second.device.id);
  state.ids.erase(it->first);
  state.dirty.erase(it->first);
  state.bySyspath.erase(it);
}

void DeviceTracker::report(size_t index, plugin::DeviceSink& sink) {
  State& state = states_[index];
  std::set<std::string> touched = state.ids.takeChanged();
  touched.insert(state.dirty.begin(), state.dirty.end());
  // An ID another device holds now is not removed: that device's upsert replaces it.
  std::set<std::string> removes;
  for (std::string& id : state.orphans) {
    if (!state.ids.taken(id)) removes.insert(std::move(id));
  }
  state.orphans.clear();
  for (const std::string& syspath : touched) {
    auto it = state.bySyspath.find(syspath);
    if (it == state.bySyspath.end()) continue;
    const std::string& old = it->second.device.id;
    if (!old.empty() && old != state.ids.id(syspath) && !state.ids.taken(old)) removes.insert(old);
  }
  for (const std::string& id : removes) emitRemove(index, id, sink);
  for (const std::string& syspath : touched) {
    auto it = state.bySyspath.find(syspath);
    if (it == state.bySyspath.end()) continue;
    const std::string& id = state.ids.id(syspath);
    if (it->second.device.id == id && !state.dirty.contains(syspath)) continue;
    it->second.device.id = id;
    emitUpsert(index, it->second.device, sink);
  }
  state.dirty.clear();
}

void DeviceTracker::remove(std::string_view syspath, plugin::DeviceSink& sink) {
  for (size_t i = 0; i < resources_.size(); ++i) {
    auto it = states_[i].bySyspath.find(syspath);
    if (it == states_[i].bySyspath.end()) continue;
    gone(i, it);
    report(i, sink);
  }
}

void DeviceTracker::move(std::string_view oldSyspath, const DeviceRecord& device,
                         plugin::DeviceSink& sink) {
  if (oldSyspath != device.syspath) {
    for (State& state : states_) {
      auto old = state.bySyspath.find(oldSyspath);
      if (old == state.bySyspath.end()) continue;
      if (state.bySyspath.contains(device.syspath)) {
        // The new path is tracked already (its add came first): the old entry is just stale.
        drop(state, old);
        continue;
      }
      // Re-key the entry so that update() below keeps its ID when the ID does not depend on the
      // kernel name, and otherwise replaces it.
      auto node = state.bySyspath.extract(old);
      std::string from = node.key();
      node.key() = device.syspath;
      state.bySyspath.insert(std::move(node));
      state.ids.rekey(from, device.syspath);
      if (state.dirty.erase(from) > 0) state.dirty.insert(device.syspath);
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
      if (it->second.present && !present.contains(it->first)) gone(i, it);
      it = next;
    }
    report(i, sink);
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
