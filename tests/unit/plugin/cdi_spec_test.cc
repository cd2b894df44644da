#include "plugin/cdi_spec.h"

#include <doctest/doctest.h>

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
        R"({"path":"/dev/serial/by-id/usb-A1","hostPath":"/dev/serial/by-id/usb-A1",)"
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
