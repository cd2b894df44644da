#pragma once

// Test doubles for the DRA driver's seams: a table of devices (DeviceLookup), claims answered
// when the test says so (ClaimSource), and an observer that records. Shared by the unit tests
// and the DRA integration test.

#include <errno.h>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "draplugin/claim_observer.h"
#include "draplugin/claim_source.h"
#include "draplugin/device_lookup.h"

namespace udp::testing {

struct FakeDevices final : draplugin::DeviceLookup {
  struct Entry {
    config::Resource resource;
    plugin::Device device;
  };
  std::map<std::pair<std::string, std::string>, Entry> table;  // (pool, name)

  void add(std::string pool, std::string name, const config::Resource& resource,
           plugin::Device device) {
    table[{std::move(pool), std::move(name)}] = {resource, std::move(device)};
  }
  std::optional<draplugin::DraDevice> find(std::string_view pool,
                                           std::string_view name) const override {
    auto it = table.find({std::string(pool), std::string(name)});
    if (it == table.end()) return std::nullopt;
    return draplugin::DraDevice{it->second.resource, it->second.device};
  }
};

// Fetches wait until deliver(); the answer is the claim in `claims` (by namespace/name), or
// NotFound.
struct FakeClaims final : draplugin::ClaimSource {
  struct Pending {
    uint64_t ticket;
    std::string key;
    Done done;
  };
  std::map<std::string, dra::ResourceClaim> claims;  // by "namespace/name"
  std::map<std::string, std::string> errors;         // by "namespace/name": fails with this
  std::deque<Pending> pending;
  std::vector<std::string> fetched;  // keys, in order
  std::vector<uint64_t> cancelled;
  uint64_t nextTicket = 1;
  bool immediate = false;  // answer inside fetch()

  uint64_t fetch(std::string_view ns, std::string_view name, Done done) override {
    std::string key = std::string(ns) + "/" + std::string(name);
    fetched.push_back(key);
    uint64_t ticket = nextTicket++;
    pending.push_back({ticket, key, std::move(done)});
    if (immediate) deliver();
    return ticket;
  }
  void cancel(uint64_t ticket) override {
    cancelled.push_back(ticket);
    std::erase_if(pending, [&](const Pending& p) { return p.ticket == ticket; });
  }
  // Answers every fetch waiting now.
  void deliver() {
    std::deque<Pending> now;
    now.swap(pending);
    for (Pending& p : now) {
      if (auto e = errors.find(p.key); e != errors.end()) {
        p.done(makeError(-ENOENT, e->second));
      } else if (auto c = claims.find(p.key); c != claims.end()) {
        p.done(c->second);
      } else {
        p.done(makeError(-ENOENT, "resourceclaims \"" + p.key + "\" not found"));
      }
    }
  }
};

struct RecordingObserver final : draplugin::ClaimObserver {
  std::vector<draplugin::ClaimEvent> events;
  void onClaimEvent(const draplugin::ClaimEvent& event) override { events.push_back(event); }
};

inline dra::ResourceClaim allocatedClaim(std::string ns, std::string name, std::string uid,
                                         std::vector<dra::AllocationResult> results) {
  dra::ResourceClaim claim;
  claim.namespaceName = std::move(ns);
  claim.name = std::move(name);
  claim.uid = std::move(uid);
  claim.allocated = true;
  claim.results = std::move(results);
  claim.reservedFor = {{"pods", "pod-" + claim.name, "pod-uid-" + claim.name}};
  return claim;
}

inline plugin::Device deviceWithNode(std::string id, std::string devnode) {
  plugin::Device device;
  device.id = std::move(id);
  device.devnode = std::move(devnode);
  return device;
}

}  // namespace udp::testing
