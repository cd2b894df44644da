#pragma once

// A claim this node has prepared, as the checkpoint keeps it and NodePrepareResources answers
// it: plain values.

#include <string>
#include <vector>

#include "dra/claim.h"

namespace udp::draplugin {

struct PreparedDevice {
  std::vector<std::string> requestNames;  // the claim's requests this device was allocated for
  std::string poolName;
  std::string deviceName;
  std::vector<std::string> cdiDeviceIds;  // empty for a device without a device node

  bool operator==(const PreparedDevice&) const = default;
};

struct PreparedClaim {
  std::string uid;
  std::string namespaceName;
  std::string name;
  // The claim's status.reservedFor when it was prepared: who the audit log names at unprepare.
  std::vector<dra::ConsumerReference> reservedFor;
  std::vector<PreparedDevice> devices;

  bool operator==(const PreparedClaim&) const = default;
  // A CDI spec file exists for the claim (some device has a node).
  bool hasCdiSpec() const {
    for (const PreparedDevice& device : devices) {
      if (!device.cdiDeviceIds.empty()) return true;
    }
    return false;
  }
};

}  // namespace udp::draplugin
