#include "dra/api_status.h"

#include <limits>

#include "dra/json_document.h"

namespace udp::dra {

namespace {

ApiStatus readStatus(Fields& f, const rapidjson::Value& doc) {
  ApiStatus status;
  status.status = f.string(&doc, "", "status");
  status.reason = f.string(&doc, "", "reason");
  status.message = f.string(&doc, "", "message");
  const int64_t code = f.integer(&doc, "", "code").value_or(0);
  if (code < 0 || code > std::numeric_limits<int>::max()) {
    f.fail("code", "out of range");
  } else {
    status.code = static_cast<int>(code);
  }
  const rapidjson::Value* details = f.object(&doc, "", "details");
  status.retryAfterSeconds = f.integer(details, "details", "retryAfterSeconds").value_or(0);
  return status;
}

}  // namespace

Result<ApiStatus> parseStatus(std::string_view json) {
  return readApiObject<ApiStatus>(json, kObjectLimits, "Status", true, readStatus);
}

}  // namespace udp::dra
