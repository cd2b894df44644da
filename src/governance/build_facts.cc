#include "governance/build_facts.h"

#include "build_config.h"

namespace udp::governance {

BuildFacts currentBuildFacts() {
  return BuildFacts{"udev-device-plugin", UDP_VERSION, UDP_GIT_COMMIT, UDP_BUILD_TYPE};
}

}  // namespace udp::governance
