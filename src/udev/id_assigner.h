#pragma once

// The IDs of one resource's devices (DESIGN.md §2), as a function of the set of devices present,
// whatever order they were seen in: a restart, a reload or a rescan gives the same IDs.
//
// Each device wants an ID (its serial, else ID_PATH, else the kernel name: device_id.h). A device
// whose wanted ID is its own keeps it. When several devices want the same ID (a multi-port adapter
// with one serial), every one of them is told apart by a stable key: "<wanted>-<ID_PATH>" when
// their ID_PATHs are all set and all differ, else "<wanted>-<devpath>" (always unique). So a
// device that joins such a group renames the one that had the ID alone, and the last but one to
// leave renames the one left; no other device's ID changes. The tracker keeps a removed device
// in its group while it is advertised as unhealthy (onRemove: unhealthy), so with that policy a
// removal renames nobody.
//
// Only when two disambiguated or wanted IDs still coincide (one device's serial is literally
// another group's "<wanted>-<key>", or sanitizing maps two keys to one string) are the later ones,
// by syspath, given "-2", "-3", ...; then an ID may depend on which device came first.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace udp::udev {

struct IdKeys {
  std::string wanted;   // the sanitized ID source
  std::string idPath;   // ID_PATH, may be empty
  std::string devpath;  // unique per device

  bool operator==(const IdKeys&) const = default;
};

class IdAssigner {
 public:
  // `maxLength`: the longest ID (maxBaseIdLength of the resource's shares).
  explicit IdAssigner(size_t maxLength) : maxLength_(maxLength) {}

  // Adds the device at `syspath`, or changes what its ID is made of.
  void set(const std::string& syspath, const IdKeys& keys);
  void erase(std::string_view syspath);
  // A `move`: the same device under a new syspath, its keys unchanged until the next set().
  void rekey(std::string_view from, const std::string& to);

  // The device's ID; empty for an unknown syspath.
  const std::string& id(std::string_view syspath) const;
  // True when some device has `id` now.
  bool taken(std::string_view id) const { return owners_.contains(id); }
  // The devices (syspaths) that want `wanted`; empty when none.
  std::vector<std::string> wanting(std::string_view wanted) const;

  // The syspaths whose ID changed since the last call; clears the list.
  std::set<std::string> takeChanged();

 private:
  struct Member {
    IdKeys keys;
    std::string candidate;  // from its group alone, before the last tie-break
    bool placed = false;    // in buckets_ under `candidate`
    std::string id;
  };
  using Dirty = std::set<std::string, std::less<>>;

  void regroup(const std::string& wanted, Dirty& dirty);
  void resolve(Dirty& dirty);
  void resolveBucket(const std::string& candidate, Dirty& dirty);
  void assign(const std::string& syspath, Member& member, const std::string& id);

  size_t maxLength_;
  std::map<std::string, Member, std::less<>> members_;                 // by syspath
  std::map<std::string, std::set<std::string>, std::less<>> groups_;   // wanted → syspaths
  std::map<std::string, std::set<std::string>, std::less<>> buckets_;  // candidate → syspaths
  std::map<std::string, std::string, std::less<>> owners_;             // id → syspath
  std::set<std::string> changed_;
};

}  // namespace udp::udev
