#pragma once

// The Status the API server answers failures with (and sends as the object of a watch ERROR
// event): {"kind":"Status","apiVersion":"v1","status":"Failure","message":"...",
// "reason":"Conflict","details":{...},"code":409}. Pure.

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::dra {

struct ApiStatus {
  int code = 0;         // the HTTP status it stands for: 409, 410, 404, 429, ...
  std::string status;   // "Failure" or "Success"
  std::string reason;   // machine-readable: Conflict, AlreadyExists, NotFound, Expired, Gone, ...
  std::string message;  // for people and the log
  int64_t retryAfterSeconds = 0;  // details.retryAfterSeconds; 0 when not given

  bool operator==(const ApiStatus&) const = default;
};

// An error unless the text is a JSON object with "kind": "Status", within kObjectLimits, whose
// members have their types (code an integer within int, the others strings).
Result<ApiStatus> parseStatus(std::string_view json);

}  // namespace udp::dra
