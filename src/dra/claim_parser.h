#pragma once

// A ResourceClaim (resource.k8s.io/v1) from the API server's JSON: the body of a GET, or the
// object of a watch event (watch_event.h). Pure.

#include <string_view>

#include "dra/claim.h"
#include "util/result.h"

namespace udp::dra {

// Reads metadata.{namespace, name, uid, resourceVersion}, status.allocation (allocated when
// present) with its devices.results[]{request, driver, pool, device}, and
// status.reservedFor[]{resource, name, uid}; everything else is skipped. An error when the text
// is not JSON, exceeds kObjectLimits, is of another kind (a Status, say), lacks metadata.name or
// metadata.uid, has a result or consumer without its required fields, or has a member of the
// wrong type; the message names the path.
Result<ResourceClaim> parseResourceClaim(std::string_view json);

}  // namespace udp::dra
