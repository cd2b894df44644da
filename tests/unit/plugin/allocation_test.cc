#include "plugin/allocation.h"

#include <doctest/doctest.h>

#include "plugin/inventory.h"

using namespace udp;

namespace {

plugin::Device device(std::string id, int numa, std::string devnode = "", bool healthy = true) {
  plugin::Device d;
  d.id = std::move(id);
  d.numaNode = numa;
  d.devnode = std::move(devnode);
  d.healthy = healthy;
  return d;
}

v1beta1::PreferredAllocationRequest preferredRequest(std::vector<std::string> available,
                                                     std::vector<std::string> mustInclude,
                                                     int size) {
  v1beta1::PreferredAllocationRequest request;
  auto* c = request.add_container_requests();
  for (auto& id : available) c->add_available_deviceids(id);
  for (auto& id : mustInclude) c->add_must_include_deviceids(id);
  c->set_allocation_size(size);
  return request;
}

std::vector<std::string> chosen(const v1beta1::PreferredAllocationResponse& response) {
  const auto& ids = response.container_responses(0).deviceids();
  return {ids.begin(), ids.end()};
}

}  // namespace

TEST_CASE("inventory reports only real changes") {
  plugin::Inventory inventory;
  CHECK(inventory.dirty());  // the first list is owed even when empty
  inventory.markClean();
  CHECK(inventory.upsert(device("a", 0)));
  CHECK(inventory.dirty());
  CHECK(inventory.healthyCount() == 1);
  inventory.markClean();
  CHECK_FALSE(inventory.upsert(device("a", 0)));
  CHECK_FALSE(inventory.dirty());
  CHECK(inventory.upsert(device("a", 0, "", false)));
  CHECK(inventory.healthyCount() == 0);
  CHECK(inventory.upsert(device("b", 0)));
  CHECK(inventory.healthyCount() == 1);
  CHECK_FALSE(inventory.remove("zzz"));
  CHECK(inventory.remove("a"));
  CHECK(inventory.healthyCount() == 1);
  CHECK(inventory.remove("b"));
  CHECK(inventory.healthyCount() == 0);
  CHECK(inventory.devices().empty());
}

TEST_CASE("templates expand ids, devnodes, serials and resource") {
  plugin::Device a = device("a-0", 0, "/dev/a");
  a.serial = "SA";
  plugin::Device a1 = device("a-1", 0, "/dev/a");  // a second share of the same device
  a1.serial = "SA";
  plugin::Device b = device("b", 0, "/dev/b");
  std::vector<const plugin::Device*> devices{&a, &a1, &b};
  CHECK(plugin::expandTemplate("{ids}", "x.com/r", devices) == "a-0,a-1,b");
  CHECK(plugin::expandTemplate("N={devnodes};", "x.com/r", devices) == "N=/dev/a,/dev/b;");
  CHECK(plugin::expandTemplate("{serials}", "x.com/r", devices) == "SA");
  CHECK(plugin::expandTemplate("{resource} {other}", "x.com/r", devices) == "x.com/r {other}");
}

TEST_CASE("allocate: device specs, permissions, container path, errors naming the device") {
  config::Resource resource;
  resource.name = "x.com/r";
  resource.permissions = "r";
  resource.symlinks = true;
  plugin::Inventory inventory;
  plugin::Device a = device("a", 0, "/dev/a");
  a.links = {"/dev/by-id/a", "/dev/a"};  // a link equal to the node is not repeated
  inventory.upsert(a);
  inventory.upsert(device("sick", 0, "/dev/s", false));

  v1beta1::AllocateRequest request;
  request.add_container_requests()->add_devices_ids("a");
  v1beta1::AllocateResponse response;
  REQUIRE(plugin::allocate(resource, inventory, request, response).ok());
  const auto& c = response.container_responses(0);
  REQUIRE(c.devices_size() == 2);
  CHECK(c.devices(0).host_path() == "/dev/a");
  CHECK(c.devices(0).permissions() == "r");
  CHECK(c.devices(1).host_path() == "/dev/by-id/a");
  CHECK(c.devices(1).container_path() == "/dev/by-id/a");

  resource.containerPath = "/dev/target";
  v1beta1::AllocateResponse moved;
  REQUIRE(plugin::allocate(resource, inventory, request, moved).ok());
  REQUIRE(moved.container_responses(0).devices_size() == 1);
  CHECK(moved.container_responses(0).devices(0).container_path() == "/dev/target");

  v1beta1::AllocateRequest bad;
  bad.add_container_requests()->add_devices_ids("ghost");
  v1beta1::AllocateResponse unused;
  auto status = plugin::allocate(resource, inventory, bad, unused);
  CHECK(status.code == grpc::StatusCode::kInvalidArgument);
  CHECK(status.message.find("ghost") != std::string::npos);

  v1beta1::AllocateRequest sick;
  sick.add_container_requests()->add_devices_ids("sick");
  status = plugin::allocate(resource, inventory, sick, unused);
  CHECK(status.code == grpc::StatusCode::kFailedPrecondition);
}

TEST_CASE("allocate: containerPath never gives two nodes one path") {
  config::Resource resource;
  resource.name = "x.com/r";
  resource.shares = 2;
  plugin::Inventory inventory;
  inventory.upsert(device("a-0", 0, "/dev/ttyUSB0"));
  inventory.upsert(device("a-1", 0, "/dev/ttyUSB0"));  // a second share of the same node
  inventory.upsert(device("b-0", 0, "/dev/bus/usb/001/002"));
  v1beta1::AllocateRequest two;
  two.add_container_requests()->add_devices_ids("a-0");
  two.mutable_container_requests(0)->add_devices_ids("b-0");

  SUBCASE("a directory: each node under it by its path below /dev") {
    resource.containerPath = "/dev/serial/";
    v1beta1::AllocateResponse response;
    REQUIRE(plugin::allocate(resource, inventory, two, response).ok());
    const auto& c = response.container_responses(0);
    REQUIRE(c.devices_size() == 2);
    CHECK(c.devices(0).container_path() == "/dev/serial/ttyUSB0");
    CHECK(c.devices(1).container_path() == "/dev/serial/bus/usb/001/002");
  }
  SUBCASE("a fixed path: one node per container, more is refused") {
    resource.containerPath = "/dev/port";
    v1beta1::AllocateResponse response;
    auto status = plugin::allocate(resource, inventory, two, response);
    CHECK(status.code == grpc::StatusCode::kInvalidArgument);
    CHECK(status.message.find("containerPath /dev/port") != std::string::npos);

    v1beta1::AllocateRequest shares;  // two shares of one node are one node
    shares.add_container_requests()->add_devices_ids("a-0");
    shares.mutable_container_requests(0)->add_devices_ids("a-1");
    v1beta1::AllocateResponse one;
    REQUIRE(plugin::allocate(resource, inventory, shares, one).ok());
    REQUIRE(one.container_responses(0).devices_size() == 1);
    CHECK(one.container_responses(0).devices(0).container_path() == "/dev/port");
  }
}

TEST_CASE("preferred allocation packs onto the fewest NUMA nodes") {
  config::Resource resource;
  resource.name = "x.com/r";
  resource.preferredAllocation = config::PreferredAllocation::kNuma;
  plugin::Inventory inventory;
  inventory.upsert(device("n0a", 0));
  inventory.upsert(device("n1a", 1));
  inventory.upsert(device("n1b", 1));
  inventory.upsert(device("n1c", 1));
  inventory.upsert(device("n2a", 2));
  inventory.upsert(device("n2b", 2));
  std::vector<std::string> all{"n0a", "n1a", "n1b", "n1c", "n2a", "n2b"};

  v1beta1::PreferredAllocationResponse r1;
  REQUIRE(plugin::preferredAllocation(resource, inventory, preferredRequest(all, {}, 3), r1).ok());
  CHECK(chosen(r1) == std::vector<std::string>{"n1a", "n1b", "n1c"});

  // A must-include device on node 2 pulls the rest onto node 2.
  v1beta1::PreferredAllocationResponse r2;
  REQUIRE(
      plugin::preferredAllocation(resource, inventory, preferredRequest(all, {"n2b"}, 2), r2).ok());
  CHECK(chosen(r2) == std::vector<std::string>{"n2b", "n2a"});

  // Without numa packing: the kubelet's order.
  resource.preferredAllocation = config::PreferredAllocation::kNone;
  v1beta1::PreferredAllocationResponse r3;
  REQUIRE(plugin::preferredAllocation(resource, inventory, preferredRequest(all, {}, 2), r3).ok());
  CHECK(chosen(r3) == std::vector<std::string>{"n0a", "n1a"});
}
