// The checkpoint: what is written reads back the same; anything else is refused with a reason
// (the store then starts empty).

#include "draplugin/checkpoint.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::draplugin {
namespace {

PreparedClaims sample() {
  PreparedClaims claims;
  PreparedClaim a;
  a.uid = "0b7d4f3e-1111";
  a.namespaceName = "default";
  a.name = "serial";
  a.reservedFor = {{"pods", "app-0", "pod-1"}};
  a.devices = {{{"req"}, "node-1", "tty-a1", {"d.example.com/claim=0b7d4f3e-1111-tty-a1"}},
               {{"req", "other"}, "node-1", "net-0", {}}};
  PreparedClaim b;
  b.uid = "9e9e";
  b.namespaceName = "ns \"quoted\"";
  b.name = "\xc3\xa9t\xc3\xa9";
  claims[a.uid] = a;
  claims[b.uid] = b;
  return claims;
}

}  // namespace

TEST_CASE("checkpoint: round trip") {
  PreparedClaims claims = sample();
  std::string text = renderCheckpoint(claims);
  auto back = parseCheckpoint(text);
  REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message));
  CHECK(*back == claims);
  CHECK(parseCheckpoint(renderCheckpoint({}))->empty());
  CHECK(parseCheckpoint(R"({"version": 1})")->empty());
}

TEST_CASE("checkpoint: refused with a reason, never half read") {
  std::string good = renderCheckpoint(sample());
  auto refused = [](std::string_view text, std::string_view reason) {
    auto r = parseCheckpoint(text);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().message.find(reason) != std::string::npos, r.error().message);
  };
  refused(good.substr(0, good.size() / 2), "offset");  // torn write (cannot happen: atomic)
  refused("", "offset");
  refused("[]", "not a JSON object");
  refused(R"({"claims": []})", "no version");
  refused(R"({"version": 2, "claims": []})", "version 2");
  refused(R"({"version": 1, "claims": {}})", "claims must be an array");
  refused(R"({"version": 1, "claims": [{"namespace": "n"}]})", "no uid");
  refused(R"({"version": 1, "claims": [{"uid": 5}]})", "must be strings");
  refused(R"({"version": 1, "claims": [{"uid": "a", "devices": [{"pool": 1}]}]})", "devices");
  refused(R"({"version": 1, "claims": [{"uid": "a", "devices": {}}]})", "devices must be");
  refused(R"({"version": 1, "claims": [{"uid": "a", "reservedFor": [1]}]})", "reservedFor");
  refused(R"({"version": 1, "claims": [{"uid": "a"}, {"uid": "a"}]})", "appears twice");
  refused("{\"version\": 1, \"claims\": [{\"uid\": \"\xff\"}]}", "offset");  // not UTF-8
  // Deep nesting is read without recursion.
  refused(std::string(100000, '[') + std::string(100000, ']'), "not a JSON object");
}

}  // namespace udp::draplugin
