#include "plugin/device_list.h"

#include <doctest/doctest.h>

#include "api.pb.h"

using namespace udp;

namespace {

// What the protobuf objects serialize to: the encoder must give the same bytes.
std::string viaProtobuf(const plugin::Inventory& inventory) {
  v1beta1::ListAndWatchResponse list;
  for (const auto& [id, device] : inventory.devices()) {
    v1beta1::Device* d = list.add_devices();
    d->set_id(device.id);
    d->set_health(device.healthy ? "Healthy" : "Unhealthy");
    if (device.numaNode >= 0) d->mutable_topology()->add_nodes()->set_id(device.numaNode);
  }
  return list.SerializeAsString();
}

plugin::Device device(std::string id, int numa, bool healthy = true) {
  plugin::Device d;
  d.id = std::move(id);
  d.numaNode = numa;
  d.healthy = healthy;
  return d;
}

}  // namespace

TEST_CASE("the encoded device list is what protobuf serializes") {
  plugin::Inventory inventory;
  std::string out = "left over";
  plugin::encodeDeviceList(inventory, out);
  CHECK(out.empty());

  inventory.upsert(device("a", -1));
  inventory.upsert(device("b", 0));
  inventory.upsert(device("c", 1, false));
  inventory.upsert(device("d", 127));
  inventory.upsert(device("e", 128));
  inventory.upsert(device("f", 300000, false));
  inventory.upsert(device(std::string(63, 'g'), 2));
  // Lengths past one varint byte, for the ID, the Device and the list entry.
  inventory.upsert(device(std::string(130, 'h'), 1));
  inventory.upsert(device(std::string(20000, 'i'), -1, false));
  plugin::encodeDeviceList(inventory, out);
  CHECK(out == viaProtobuf(inventory));

  v1beta1::ListAndWatchResponse parsed;
  REQUIRE(parsed.ParseFromString(out));
  REQUIRE(parsed.devices_size() == 9);
  CHECK(parsed.devices(0).id() == "a");
  CHECK_FALSE(parsed.devices(0).has_topology());
  CHECK(parsed.devices(1).topology().nodes(0).id() == 0);
  CHECK(parsed.devices(2).health() == "Unhealthy");
  CHECK(parsed.devices(5).topology().nodes(0).id() == 300000);

  for (int i = 0; i < 1000; ++i) inventory.upsert(device("dev-" + std::to_string(i), i % 4));
  plugin::encodeDeviceList(inventory, out);
  CHECK(out == viaProtobuf(inventory));
}
