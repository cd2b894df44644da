// parseResourceClaim on any bytes: no crash, no leak, no undefined behaviour (the sanitizers), and
// a claim it accepts has what the driver relies on: a name and a UID, complete allocation results
// and consumers, and only valid UTF-8 in its strings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../support/strict_utf8.h"
#include "dra/claim_parser.h"

using udp::testing::strictUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udp::Result<udp::dra::ResourceClaim> claim = udp::dra::parseResourceClaim(input);
  if (!claim.ok()) {
    if (claim.error().message.empty()) abort();
    return 0;
  }
  if (claim->name.empty() || claim->uid.empty()) abort();
  if (!strictUtf8(claim->name) || !strictUtf8(claim->namespaceName) || !strictUtf8(claim->uid) ||
      !strictUtf8(claim->resourceVersion)) {
    abort();
  }
  if (!claim->allocated && !claim->results.empty()) abort();
  for (const udp::dra::AllocationResult& r : claim->results) {
    if (r.request.empty() || r.driver.empty() || r.pool.empty() || r.device.empty()) abort();
    if (!strictUtf8(r.request) || !strictUtf8(r.driver) || !strictUtf8(r.pool) ||
        !strictUtf8(r.device)) {
      abort();
    }
  }
  for (const udp::dra::ConsumerReference& c : claim->reservedFor) {
    if (c.resource.empty() || c.name.empty() || c.uid.empty()) abort();
  }
  return 0;
}
