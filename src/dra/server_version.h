#pragma once

// The API server's GET /version answer: {"major":"1","minor":"36","gitVersion":"v1.36.0",...}.
// The driver reads only the minor version, to tell which features the release has (device taints
// from 1.36, the standard NUMA attribute from 1.37). Managed clusters append a "+" to it
// ("36+"), as their gitVersion carries a vendor suffix. Pure.

#include <string_view>

#include "util/result.h"

namespace udp::dra {

// The minor version: the leading decimal digits of "minor", an optional "+" after them. An error
// when the text is not a JSON object within kObjectLimits, or "minor" is missing, empty, not a
// string, not of that form (four digits at most: no release will need more).
Result<int> parseMinorVersion(std::string_view json);

}  // namespace udp::dra
