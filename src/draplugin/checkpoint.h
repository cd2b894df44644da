#pragma once

// The prepared claims on disk (<pluginDir>/<driver>/checkpoint.json), so that a restarted plugin
// still knows what it prepared: NodePrepareResources answers again without the API server, and
// NodeUnprepareResources still removes the claim's CDI spec. Pure: text in, values out, and back.
//
// {"version": 1, "claims": [{"uid", "namespace", "name", "reservedFor": [{"resource", "name",
// "uid"}], "devices": [{"requestNames": [...], "pool", "device", "cdiDeviceIds": [...]}]}]}

#include <map>
#include <string>
#include <string_view>

#include "draplugin/prepared_claim.h"
#include "util/result.h"

namespace udp::draplugin {

inline constexpr int kCheckpointVersion = 1;

// Keyed by claim UID.
using PreparedClaims = std::map<std::string, PreparedClaim, std::less<>>;

std::string renderCheckpoint(const PreparedClaims& claims);
// Refuses anything but a well-formed checkpoint of kCheckpointVersion, saying where it is wrong;
// the caller logs it and starts empty (a corrupt checkpoint must never stop the plugin).
Result<PreparedClaims> parseCheckpoint(std::string_view text);

}  // namespace udp::draplugin
