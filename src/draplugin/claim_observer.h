#pragma once

// Who hears of every claim NodePrepareResources and NodeUnprepareResources handled: the daemon
// writes the audit line (claim, pods, devices) and counts them with their latency.

#include <chrono>
#include <string>
#include <vector>

#include "dra/claim.h"
#include "draplugin/prepared_claim.h"

namespace udp::draplugin {

enum class ClaimOperation { kPrepare, kUnprepare };

struct ClaimEvent {
  ClaimOperation operation = ClaimOperation::kPrepare;
  std::string namespaceName;
  std::string name;
  std::string uid;
  // The claim's status.reservedFor (the pods), as of its preparation.
  std::vector<dra::ConsumerReference> reservedFor;
  std::vector<PreparedDevice> devices;
  std::string error;  // empty: done
  // Nothing to do: prepared already (answered from what was prepared, no API call), or, for
  // unprepare, not prepared here.
  bool repeated = false;
  std::chrono::nanoseconds latency{0};  // from the kubelet's call to the answer
};

class ClaimObserver {
 public:
  virtual ~ClaimObserver() = default;
  virtual void onClaimEvent(const ClaimEvent& event) = 0;
};

}  // namespace udp::draplugin
