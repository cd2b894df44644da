// planClaim: the checks NodePrepareResources makes once the API server answered, and the devices
// and CDI IDs it answers with.

#include "draplugin/claim_plan.h"

#include <doctest/doctest.h>

#include "fakes.h"

namespace udp::draplugin {
namespace {

using testing::allocatedClaim;
using testing::deviceWithNode;
using testing::FakeDevices;

constexpr const char* kDriver = "udev.example.com";

struct Rig {
  FakeDevices devices;
  config::Resource resource;
  Rig() {
    resource.name = "example.com/serial";
    devices.add("node-1", "tty-a", resource, deviceWithNode("A", "/dev/ttyUSB0"));
    devices.add("node-1", "tty-b", resource, deviceWithNode("B", "/dev/ttyUSB1"));
    plugin::Device noNode;
    noNode.id = "N";
    devices.add("node-1", "net-n", resource, noNode);
    plugin::Device sick = deviceWithNode("S", "/dev/ttyUSB9");
    sick.healthy = false;
    devices.add("node-1", "tty-s", resource, sick);
  }
  Result<ClaimPlan> plan(const dra::ResourceClaim& claim, std::string uid = "uid-1") {
    return planClaim(kDriver, "node-1", {"default", "c", std::move(uid)}, claim, devices);
  }
};

std::string errorOf(const Result<ClaimPlan>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

}  // namespace

TEST_CASE("planClaim: our results on this node's pool, one entry per device, CDI IDs") {
  Rig rig;
  auto claim = allocatedClaim("default", "c", "uid-1",
                              {{"req", kDriver, "node-1", "tty-a"},
                               {"gpu", "gpu.example.com", "node-1", "gpu-0"},  // not ours
                               {"other", kDriver, "node-1", "tty-a"},  // same device, 2nd request
                               {"req", kDriver, "node-1", "net-n"}});
  auto plan = rig.plan(claim);
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  const PreparedClaim& p = plan->prepared;
  CHECK(p.uid == "uid-1");
  CHECK(p.reservedFor == claim.reservedFor);
  REQUIRE(p.devices.size() == 2);
  CHECK(p.devices[0].requestNames == std::vector<std::string>{"req", "other"});
  CHECK(p.devices[0].poolName == "node-1");
  CHECK(p.devices[0].deviceName == "tty-a");
  CHECK(p.devices[0].cdiDeviceIds ==
        std::vector<std::string>{"udev.example.com/claim=uid-1-tty-a"});
  CHECK(p.devices[1].cdiDeviceIds.empty());  // no device node: nothing for the runtime
  CHECK(plan->cdiSpec.find("\"uid-1-tty-a\"") != std::string::npos);
  CHECK(plan->cdiSpec.find("net-n") == std::string::npos);
}

TEST_CASE("planClaim: a claim with none of our devices is prepared with none, and no spec") {
  Rig rig;
  auto plan = rig.plan(allocatedClaim("default", "c", "uid-1", {}));
  REQUIRE(plan.ok());
  CHECK(plan->prepared.devices.empty());
  CHECK(plan->cdiSpec.empty());
}

TEST_CASE("planClaim: errors name the claim and the device") {
  Rig rig;
  auto claim = allocatedClaim("default", "c", "uid-1", {{"req", kDriver, "node-1", "tty-a"}});
  CHECK(errorOf(rig.plan(claim, "uid-2"))
            .find("ResourceClaim default/c: the API server has UID "
                  "uid-1, the kubelet asked for uid-2") == 0);
  dra::ResourceClaim pending = claim;
  pending.allocated = false;
  CHECK(errorOf(rig.plan(pending)).find("not allocated") != std::string::npos);
  auto unknown = allocatedClaim("default", "c", "uid-1", {{"req", kDriver, "node-1", "gone"}});
  CHECK(errorOf(rig.plan(unknown)).find("device node-1/gone (request req) is not on this node") !=
        std::string::npos);
  auto elsewhere = allocatedClaim("default", "c", "uid-1", {{"req", kDriver, "node-2", "tty-a"}});
  CHECK(errorOf(rig.plan(elsewhere)).find("another node's pool") != std::string::npos);
  auto sick = allocatedClaim("default", "c", "uid-1", {{"req", kDriver, "node-1", "tty-s"}});
  CHECK(errorOf(rig.plan(sick)).find("node-1/tty-s") != std::string::npos);
  CHECK(errorOf(rig.plan(sick)).find("unhealthy") != std::string::npos);
}

}  // namespace udp::draplugin
