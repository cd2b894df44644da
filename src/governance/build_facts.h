#pragma once

// What the build says about itself, for the governance record: fixed when meson configures
// (the root meson.build's build_config.h).

#include <string>

namespace udp::governance {

struct BuildFacts {
  std::string name;       // "udev-device-plugin"
  std::string version;    // the project version
  std::string commit;     // git rev-parse --short=12 HEAD at configure time, or "unknown"
  std::string buildType;  // meson's buildtype: release, debugoptimized, ...
};

BuildFacts currentBuildFacts();

}  // namespace udp::governance
