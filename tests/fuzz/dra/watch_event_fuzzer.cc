// parseWatchEvent on any bytes: no crash, no leak, no undefined behaviour, and an event it
// accepts points at a JSON object inside the input that parses on its own, as its consumers
// (parseResourceClaim, parseStatus, ...) will parse it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../support/strict_utf8.h"
#include "dra/json_document.h"
#include "dra/watch_event.h"

using udp::testing::strictUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udp::Result<udp::dra::WatchEvent> event = udp::dra::parseWatchEvent(input);
  if (!event.ok()) return 0;
  const std::string_view object = event->object;
  if (object.size() < 2 || object.data() < input.data() ||
      object.data() + object.size() > input.data() + input.size()) {
    abort();
  }
  if (object.front() != '{' || object.back() != '}') abort();
  rapidjson::Document doc;
  if (!udp::dra::parseJson(object, doc, udp::dra::kObjectLimits, "object").ok()) abort();
  if (!doc.IsObject()) abort();
  if (!strictUtf8(event->resourceVersion) || !strictUtf8(event->name)) abort();
  if (udp::dra::watchEventTypeName(event->type).empty()) abort();
  return 0;
}
