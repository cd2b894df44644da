#include "draplugin/claim_plan.h"

#include <errno.h>

#include <algorithm>
#include <vector>

#include "draplugin/cdi_claim_spec.h"

namespace udp::draplugin {
namespace {

Error claimError(const ClaimRef& asked, const std::string& what) {
  return makeError(-EINVAL,
                   "ResourceClaim " + asked.namespaceName + "/" + asked.name + ": " + what);
}

}  // namespace

Result<ClaimPlan> planClaim(std::string_view driver, std::string_view pool, const ClaimRef& asked,
                            const dra::ResourceClaim& claim, const DeviceLookup& devices) {
  if (claim.uid != asked.uid) {
    return claimError(asked, "the API server has UID " + claim.uid + ", the kubelet asked for " +
                                 asked.uid + " (deleted and created again?)");
  }
  if (!claim.allocated) return claimError(asked, "not allocated");
  ClaimPlan plan;
  plan.prepared.uid = claim.uid;
  plan.prepared.namespaceName = claim.namespaceName;
  plan.prepared.name = claim.name;
  plan.prepared.reservedFor = claim.reservedFor;
  std::vector<ClaimSpecDevice> specDevices;
  for (const dra::AllocationResult& result : claim.results) {
    if (result.driver != driver) continue;  // another driver prepares its own devices
    std::string device = result.pool + "/" + result.device;
    if (result.pool != pool) {
      return claimError(asked, "device " + device + " (request " + result.request +
                                   ") is in another node's pool, not in " + std::string(pool));
    }
    // One device may serve several requests of the claim: one entry, all its request names.
    auto same =
        std::find_if(plan.prepared.devices.begin(), plan.prepared.devices.end(),
                     [&](const PreparedDevice& d) { return d.deviceName == result.device; });
    if (same != plan.prepared.devices.end()) {
      if (std::find(same->requestNames.begin(), same->requestNames.end(), result.request) ==
          same->requestNames.end()) {
        same->requestNames.push_back(result.request);
      }
      continue;
    }
    std::optional<DraDevice> found = devices.find(result.pool, result.device);
    if (!found) {
      return claimError(asked, "device " + device + " (request " + result.request +
                                   ") is not on this node any more");
    }
    if (!found->device.healthy) {
      return claimError(asked, "device " + device + " (request " + result.request + ", resource " +
                                   found->resource.name + ") is unhealthy");
    }
    PreparedDevice prepared;
    prepared.requestNames.push_back(result.request);
    prepared.poolName = result.pool;
    prepared.deviceName = result.device;
    if (hasCdiEntry(found->device)) {
      prepared.cdiDeviceIds.push_back(cdiClaimDeviceId(driver, claim.uid, result.device));
    }
    plan.prepared.devices.push_back(std::move(prepared));
    specDevices.push_back({result.device, found->resource, found->device});
  }
  plan.cdiSpec = renderClaimCdiSpec(driver, claim.uid, specDevices);
  return plan;
}

}  // namespace udp::draplugin
