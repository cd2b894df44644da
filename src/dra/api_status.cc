#include "dra/api_status.h"

#include <limits>

#include "dra/json_document.h"

namespace udp::dra {

Result<ApiStatus> parseStatus(std::string_view json) {
  rapidjson::Document doc;
  if (Result<void> parsed = parseJson(json, doc, kObjectLimits, "Status"); !parsed) {
    return parsed.error();
  }
  Fields f("Status");
  if (!doc.IsObject()) {
    f.fail("(root)", "expected an object");
    return f.error();
  }
  std::string kind = f.string(&doc, "", "kind");
  if (kind != "Status") f.fail("kind", kind.empty() ? "missing" : "is " + kind + ", not Status");
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
  if (!f.ok()) return f.error();
  return status;
}

}  // namespace udp::dra
