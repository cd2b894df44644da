#pragma once

// Where NodePrepareResources gets each ResourceClaim from: a GET on the API server in the daemon
// (the Kubernetes API client), a fake in tests. A seam (DESIGN.md §5.5).

#include <cstdint>
#include <functional>
#include <string_view>

#include "dra/claim.h"
#include "util/result.h"

namespace udp::draplugin {

class ClaimSource {
 public:
  using Done = std::function<void(Result<dra::ResourceClaim>)>;
  virtual ~ClaimSource() = default;

  // Starts reading the claim. `done` runs once on the reactor's thread with the claim or an
  // error for the kubelet (e.g. "not found"), possibly before fetch returns, unless cancelled
  // first. Returns a ticket for cancel().
  virtual uint64_t fetch(std::string_view namespaceName, std::string_view name, Done done) = 0;
  // Nobody waits for that fetch any more: its `done` must not run. Unknown or finished tickets
  // are ignored.
  virtual void cancel(uint64_t ticket) = 0;
};

}  // namespace udp::draplugin
