#pragma once

// The claims this node has prepared, and their files: one CDI spec per claim in cdiDir and the
// checkpoint that lists them all. Every file write runs on a worker thread; a change is reported
// done only once the checkpoint that holds it is on disk, so that whatever NodePrepareResources
// answered survives a restart. Checkpoint writes are coalesced: changes asked for while one is
// being written go into the next.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "draplugin/checkpoint.h"
#include "draplugin/device_lookup.h"
#include "reactor/reactor.h"
#include "reactor/worker_thread.h"

namespace udp::draplugin {

struct ClaimStorePaths {
  std::string driverName;
  std::string cdiDir;
  std::string checkpointPath;  // <pluginDir>/<driver>/checkpoint.json
};

class ClaimStore {
 public:
  using Done = std::function<void(const Result<void>&)>;

  ClaimStore(reactor::Reactor& reactor, ClaimStorePaths paths, reactor::OpScope* parent = nullptr);

  // At start, before serving (a blocking read of one small file). No file: nothing prepared. A
  // corrupt file is logged, kept aside as <checkpoint>.corrupt, and read as empty: the plugin
  // must start whatever is on disk.
  void load();
  // Writes the CDI spec of every prepared claim whose file is gone (cdiDir is a tmpfs that a
  // reboot empties, and the kubelet does not prepare its claims again), from the devices as
  // `devices` knows them now. Call once the inventory is complete.
  void restoreSpecs(const DeviceLookup& devices);

  const PreparedClaims& claims() const { return claims_; }
  const PreparedClaim* find(std::string_view uid) const;
  // The claim's spec file is where it should be (or it needs none).
  bool specPresent(const PreparedClaim& claim) const;
  // The last checkpoint write failed: what is in memory is not on disk.
  bool checkpointDirty() const { return checkpointDirty_; }

  // Writes the claim's CDI spec (skipped when `spec` is empty), then records the claim; `done`
  // runs once both are on disk, or with the first error.
  void prepare(PreparedClaim claim, std::string spec, Done done);
  // Removes the claim's CDI spec (gone already is fine), then forgets the claim; `done` runs
  // once the checkpoint without it is on disk.
  void unprepare(std::string uid, Done done);
  // `done` runs once a checkpoint with everything recorded so far is on disk.
  void persist(Done done);

  bool idle() const { return worker_.idle(); }

 private:
  std::string specPath(std::string_view uid) const;
  void startCheckpointWrite();

  ClaimStorePaths paths_;
  reactor::WorkerThread worker_;
  PreparedClaims claims_;
  bool checkpointInFlight_ = false;
  bool checkpointDirty_ = false;
  std::vector<Done> nextCheckpoint_;  // waiting for the checkpoint after the one in flight
};

}  // namespace udp::draplugin
