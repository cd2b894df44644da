#pragma once

// `udev-device-plugin describe`: the governance record without a running daemon. The devices
// are what the daemon would advertise now (one scan); nothing is registered or streaming.

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "governance/describe.h"
#include "util/result.h"

namespace udp::governance {

// The registration state reported for every resource when no daemon runs.
// The sha256 of the file's bytes as they are on disk (comparable with `sha256sum`).
Result<std::string> configFileSha256(const std::string& path);

inline constexpr const char* kNotRunning = "not running";

// The DRA section offline: the pool of `nodeName` (as the driver would resolve it; "" when it
// cannot, and then no slices) and the slices the driver would publish for the devices of
// `resources` (one scan), none published. nullopt when the config serves nothing through DRA.
std::optional<DraView> offlineDraView(const config::Config& config,
                                      const std::vector<ResourceView>& resources,
                                      const std::string& nodeName);

// The offline inputs for `config`, loaded from `configPath` (hashed as the file's bytes now),
// and one udev scan. `config` is borrowed by the result.
Result<DescribeInputs> offlineInputs(const std::string& configPath, const config::Config& config);

// Prints the record, indented, to stdout. Returns the exit status: 0, or 2 when the config
// cannot be read again or the scan fails (the message goes to stderr).
int describeOffline(const std::string& configPath, const config::Config& config);

}  // namespace udp::governance
