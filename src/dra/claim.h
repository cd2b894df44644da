#pragma once

// A ResourceClaim (resource.k8s.io/v1) as the DRA driver needs it: plain values parsed from the
// API server's JSON (claim_parser.h), used by NodePrepareResources. Nothing here knows JSON.

#include <string>
#include <vector>

namespace udp::dra {

// One entry of status.allocation.devices.results.
struct AllocationResult {
  std::string request;  // the claim's request name (or "<request>/<subrequest>")
  std::string driver;
  std::string pool;
  std::string device;

  bool operator==(const AllocationResult&) const = default;
};

// One entry of status.reservedFor: who uses the claim (normally pods).
struct ConsumerReference {
  std::string resource;  // "pods"
  std::string name;
  std::string uid;

  bool operator==(const ConsumerReference&) const = default;
};

struct ResourceClaim {
  std::string namespaceName;
  std::string name;
  std::string uid;
  std::string resourceVersion;
  bool allocated = false;  // status.allocation present
  std::vector<AllocationResult> results;
  std::vector<ConsumerReference> reservedFor;

  bool operator==(const ResourceClaim&) const = default;
};

}  // namespace udp::dra
