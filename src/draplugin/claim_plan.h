#pragma once

// What NodePrepareResources does with one claim once the API server has answered (pure): check
// that it is the claim the kubelet means, take the allocation results of this driver, find each
// device in the inventory, and render the claim's CDI spec.

#include <string>
#include <string_view>

#include "dra/claim.h"
#include "draplugin/device_lookup.h"
#include "draplugin/prepared_claim.h"
#include "util/result.h"

namespace udp::draplugin {

struct ClaimPlan {
  PreparedClaim prepared;
  std::string cdiSpec;  // empty: no device has a node, no spec file
};

struct ClaimRef {  // what the kubelet asks for
  std::string namespaceName;
  std::string name;
  std::string uid;
};

// `pool`: this node's pool (named after the node). Errors are the text the kubelet shows for
// the claim, naming the claim and the device.
Result<ClaimPlan> planClaim(std::string_view driver, std::string_view pool, const ClaimRef& asked,
                            const dra::ResourceClaim& claim, const DeviceLookup& devices);

}  // namespace udp::draplugin
