#pragma once

// What a container gets for a set of device IDs (Allocate) and which IDs to prefer
// (GetPreferredAllocation). Pure: config and inventory in, API message out.

#include "api.pb.h"
#include "config/config.h"
#include "grpc/status.h"
#include "plugin/inventory.h"

namespace udp::plugin {

// Fills one ContainerAllocateResponse per container request. Unknown ID → INVALID_ARGUMENT,
// unhealthy → FAILED_PRECONDITION, each naming the device.
grpc::Status allocate(const config::Resource& resource, const Inventory& inventory,
                      const v1beta1::AllocateRequest& request, v1beta1::AllocateResponse& response);

// Must-include IDs first, then (with preferredAllocation: numa) the NUMA nodes that can hold the
// most of the remainder, so the allocation spans as few nodes as possible.
grpc::Status preferredAllocation(const config::Resource& resource, const Inventory& inventory,
                                 const v1beta1::PreferredAllocationRequest& request,
                                 v1beta1::PreferredAllocationResponse& response);

// Expands {ids} {devnodes} {serials} {resource} in an env or annotation template.
std::string expandTemplate(std::string_view text, std::string_view resource,
                           const std::vector<const Device*>& devices);

}  // namespace udp::plugin
