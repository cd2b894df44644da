#include "plugin/cdi_spec.h"

#include <doctest/doctest.h>

#include "plugin/allocation.h"
#include "util/json_writer.h"

using namespace udp;

TEST_CASE("CDI names and spec file names") {
  CHECK(plugin::cdiDeviceName("example.com/serial", "A1") == "example.com/serial=A1");
  CHECK(plugin::cdiSpecFileName("example.com/serial") == "example.com-serial.json");
}

TEST_CASE("the CDI spec lists each device's node and, with symlinks, its links") {
  config::Resource resource;
  resource.name = "example.com/serial";
  resource.permissions = "rw";
  resource.symlinks = true;
  plugin::Inventory inventory;
  plugin::Device a;
  a.id = "A1";
  a.devnode = "/dev/ttyUSB0";
  a.links = {"/dev/serial/by-id/usb-A1"};
  inventory.upsert(a);
  plugin::Device nodeless;
  nodeless.id = "N";
  inventory.upsert(nodeless);  // nothing to hand over: not in the spec

  CHECK(plugin::renderCdiSpec(resource, inventory) ==
        R"({"cdiVersion":"0.5.0","kind":"example.com/serial","devices":[)"
        R"({"name":"A1","containerEdits":{"deviceNodes":[)"
        R"({"path":"/dev/ttyUSB0","hostPath":"/dev/ttyUSB0","permissions":"rw"},)"
        R"({"path":"/dev/serial/by-id/usb-A1","hostPath":"/dev/ttyUSB0",)"
        R"("permissions":"rw"}]}}]})"
        "\n");
}

TEST_CASE("JSON strings are escaped") {
  std::string out;
  appendJsonString(out, "a\"b\\c\n\x01é");
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001é\"");
  JsonWriter json;
  json.beginObject().key("k").beginArray().value(1).value(true).null().endArray().endObject();
  CHECK(json.text() == R"({"k":[1,true,null]})");
}

TEST_CASE("Allocate names in CDI exactly the devices the spec lists") {
  config::Resource resource;
  resource.name = "example.com/mixed";
  resource.cdi = true;
  plugin::Inventory inventory;
  plugin::Device withNode;
  withNode.id = "A";
  withNode.devnode = "/dev/null";
  inventory.upsert(withNode);
  plugin::Device nodeless;
  nodeless.id = "N";
  inventory.upsert(nodeless);

  v1beta1::AllocateRequest request;
  auto* container = request.add_container_requests();
  container->add_devices_ids("A");
  container->add_devices_ids("N");
  v1beta1::AllocateResponse response;
  REQUIRE(plugin::allocate(resource, inventory, request, response).ok());
  std::string spec = plugin::renderCdiSpec(resource, inventory);
  const auto& names = response.container_responses(0).cdi_devices();
  REQUIRE(names.size() == 1);
  CHECK(names[0].name() == "example.com/mixed=A");
  for (const auto& entry : inventory.devices()) {
    const std::string& id = entry.first;  // a plain name: clang 14 lambdas cannot capture bindings
    bool named = false;
    for (const auto& n : names) named |= n.name() == plugin::cdiDeviceName(resource.name, id);
    bool inSpec = spec.find("\"name\":\"" + id + "\"") != std::string::npos;
    CHECK_MESSAGE(named == inSpec, id);
  }
}
