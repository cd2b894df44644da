#pragma once

// What each resource has been told about each device (DESIGN.md §4 "de-duplicate"): turns a
// stream of device sightings (enumeration, uevents, a rescan after lost events) into the minimal
// upserts and removes for the sink, and keeps IDs stable and unique per resource (id_assigner.h).
// Pure: no libudev, no I/O besides the sink.
//
// A device belongs to one resource only: the first, in config order, whose rules match it. A
// later resource whose rules match it as well does not see it, unless it sets
// shareDevicesWithEarlierResources; otherwise two pods could be given the same device through two
// resources.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "plugin/device.h"
#include "plugin/device_source.h"
#include "udev/device_record.h"
#include "udev/id_assigner.h"

namespace udp::udev {

class DeviceTracker {
 public:
  explicit DeviceTracker(std::vector<config::Resource> resources);

  // The device is present (enumerated, or an add/change/bind/unbind/online/offline event): it is
  // reported to the resource that owns it (and to the later ones that share), unless what that
  // resource has is identical, and resources it no longer belongs to apply their onRemove policy.
  // Its ID stays the same while what the ID is made of, and the devices it collides with, do not
  // change.
  void update(const DeviceRecord& device, plugin::DeviceSink& sink);

  // The device at `syspath` is gone: every resource that had it applies its onRemove policy.
  void remove(std::string_view syspath, plugin::DeviceSink& sink);

  // A `move` event: the device that was at `oldSyspath` is now `device`. The entry under the old
  // path does not outlive the move.
  void move(std::string_view oldSyspath, const DeviceRecord& device, plugin::DeviceSink& sink);

  // Reconciling after lost events, step one: whatever is tracked but not among `present` (the
  // syspaths of a fresh enumeration) is gone. Step two is update() for each present device;
  // removing first lets a device that came back under a new syspath take over its old ID.
  void removeAbsent(const std::set<std::string, std::less<>>& present, plugin::DeviceSink& sink);

  // The devices currently advertised for `resource` (one per share), ordered by syspath.
  std::vector<plugin::Device> devices(std::string_view resource) const;
  const std::vector<config::Resource>& resources() const { return resources_; }

 private:
  struct Entry {
    IdKeys keys;
    // As reported; device.id is the base ID, before share suffixes, empty before the first
    // report.
    plugin::Device device;
    bool present = true;  // false: gone, but kept as unhealthy (onRemove: unhealthy)
  };
  struct State {
    explicit State(size_t maxIdLength) : ids(maxIdLength) {}
    std::map<std::string, Entry, std::less<>> bySyspath;
    IdAssigner ids;
    std::set<std::string> dirty;       // syspaths whose device changed since the last report
    std::vector<std::string> orphans;  // reported IDs of entries dropped since the last report
  };
  using EntryIt = std::map<std::string, Entry, std::less<>>::iterator;

  void updateOne(size_t index, const DeviceRecord& device, bool belongs);
  void takeOver(State& state, const IdKeys& keys, const std::string& syspath);
  void gone(size_t index, EntryIt it);
  void drop(State& state, EntryIt it);
  // Sends what changed in resource `index` since the last call: removes, then upserts.
  void report(size_t index, plugin::DeviceSink& sink);
  void emitUpsert(size_t index, const plugin::Device& device, plugin::DeviceSink& sink) const;
  void emitRemove(size_t index, const std::string& id, plugin::DeviceSink& sink) const;

  std::vector<config::Resource> resources_;
  std::vector<State> states_;  // parallel to resources_
};

}  // namespace udp::udev
