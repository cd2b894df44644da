#include "udev/id_assigner.h"

#include <utility>

#include "udev/device_id.h"

namespace udp::udev {

void IdAssigner::set(const std::string& syspath, const IdKeys& keys) {
  auto [it, inserted] = members_.try_emplace(syspath);
  Member& member = it->second;
  if (!inserted && member.keys == keys) return;
  Dirty dirty;
  if (!inserted && member.keys.wanted != keys.wanted) {
    std::string old = member.keys.wanted;
    auto group = groups_.find(old);
    group->second.erase(syspath);
    if (group->second.empty()) groups_.erase(group);
    member.keys = keys;
    regroup(old, dirty);
  } else {
    member.keys = keys;
  }
  groups_[keys.wanted].insert(syspath);
  regroup(keys.wanted, dirty);
  resolve(dirty);
}

void IdAssigner::erase(std::string_view syspath) {
  auto it = members_.find(syspath);
  if (it == members_.end()) return;
  Member& member = it->second;
  Dirty dirty;
  if (member.placed) {
    buckets_[member.candidate].erase(it->first);
    dirty.insert(member.candidate);
  }
  auto owner = owners_.find(member.id);
  if (owner != owners_.end() && owner->second == syspath) owners_.erase(owner);
  std::string wanted = member.keys.wanted;
  auto group = groups_.find(wanted);
  group->second.erase(it->first);
  if (group->second.empty()) groups_.erase(group);
  changed_.erase(it->first);
  members_.erase(it);
  regroup(wanted, dirty);
  resolve(dirty);
}

void IdAssigner::rekey(std::string_view from, const std::string& to) {
  if (members_.contains(to)) return;
  auto node = members_.extract(members_.find(from));
  if (node.empty()) return;
  std::string old = node.key();
  node.key() = to;
  Member& member = node.mapped();
  Dirty dirty;
  std::set<std::string>& group = groups_[member.keys.wanted];
  group.erase(old);
  group.insert(to);
  if (member.placed) {
    std::set<std::string>& bucket = buckets_[member.candidate];
    bucket.erase(old);
    bucket.insert(to);
    dirty.insert(member.candidate);  // the tie-break order is by syspath
  }
  auto owner = owners_.find(member.id);
  if (owner != owners_.end() && owner->second == old) owner->second = to;
  if (changed_.erase(old) > 0) changed_.insert(to);
  members_.insert(std::move(node));
  resolve(dirty);
}

const std::string& IdAssigner::id(std::string_view syspath) const {
  static const std::string kNone;
  auto it = members_.find(syspath);
  return it == members_.end() ? kNone : it->second.id;
}

std::vector<std::string> IdAssigner::wanting(std::string_view wanted) const {
  auto group = groups_.find(wanted);
  if (group == groups_.end()) return {};
  return {group->second.begin(), group->second.end()};
}

std::set<std::string> IdAssigner::takeChanged() {
  return std::exchange(changed_, {});
}

void IdAssigner::regroup(const std::string& wanted, Dirty& dirty) {
  auto group = groups_.find(wanted);
  if (group == groups_.end()) return;
  const std::set<std::string>& syspaths = group->second;
  // ID_PATH tells the members apart only when every one has its own; devpaths always do.
  bool byIdPath = true;
  std::set<std::string_view> idPaths;
  for (const std::string& syspath : syspaths) {
    const std::string& idPath = members_.find(syspath)->second.keys.idPath;
    byIdPath = byIdPath && !idPath.empty() && idPaths.insert(idPath).second;
  }
  for (const std::string& syspath : syspaths) {
    Member& member = members_.find(syspath)->second;
    std::string candidate = wanted;
    if (syspaths.size() > 1) {
      const std::string& key = byIdPath ? member.keys.idPath : member.keys.devpath;
      candidate = sanitizeId(wanted + "-" + key, maxLength_);
    }
    if (member.placed && member.candidate == candidate) continue;
    if (member.placed) {
      auto bucket = buckets_.find(member.candidate);
      bucket->second.erase(syspath);
      dirty.insert(member.candidate);
    }
    member.candidate = std::move(candidate);
    member.placed = true;
    buckets_[member.candidate].insert(syspath);
    dirty.insert(member.candidate);
  }
}

void IdAssigner::resolve(Dirty& dirty) {
  while (!dirty.empty()) {
    std::string candidate = std::move(dirty.extract(dirty.begin()).value());
    resolveBucket(candidate, dirty);
  }
}

void IdAssigner::resolveBucket(const std::string& candidate, Dirty& dirty) {
  auto bucket = buckets_.find(candidate);
  if (bucket == buckets_.end()) return;
  if (bucket->second.empty()) {
    buckets_.erase(bucket);
    return;
  }
  // A member of another bucket that was given this ID as a tie-break gives it up: a candidate
  // always goes first, and that bucket's tie-break now steps over it.
  auto owner = owners_.find(candidate);
  if (owner != owners_.end() && !bucket->second.contains(owner->second)) {
    dirty.insert(members_.find(owner->second)->second.candidate);
  }
  int n = 1;
  for (const std::string& syspath : bucket->second) {
    std::string id = candidate;
    if (n > 1 || syspath != *bucket->second.begin()) {
      auto takenByOther = [&](const std::string& wanted) {
        auto held = owners_.find(wanted);
        return held != owners_.end() && held->second != syspath;
      };
      do {
        id = sanitizeId(candidate + "-" + std::to_string(++n), maxLength_);
      } while (buckets_.contains(id) || takenByOther(id));
    }
    assign(syspath, members_.find(syspath)->second, id);
  }
}

void IdAssigner::assign(const std::string& syspath, Member& member, const std::string& id) {
  auto held = owners_.find(id);
  if (member.id == id && held != owners_.end() && held->second == syspath) return;
  auto old = owners_.find(member.id);
  if (old != owners_.end() && old->second == syspath) owners_.erase(old);
  if (member.id != id) changed_.insert(syspath);
  member.id = id;
  owners_[id] = syspath;
}

}  // namespace udp::udev
