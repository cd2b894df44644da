// The CDI spec of one claim: names, device nodes with the owner and mode of deviceFile, links,
// env and mounts per resource, devices without a node left out. Read back with RapidJSON.

#include "draplugin/cdi_claim_spec.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace udp::draplugin {
namespace {

rapidjson::Document parsed(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

config::Resource serial() {
  config::Resource resource;
  resource.name = "example.com/serial";
  resource.permissions = "rw";
  resource.deviceFile.uid = 1000;
  resource.deviceFile.gid = 20;
  resource.deviceFile.mode = 0660;
  resource.env = {{"PORTS", "{devnodes}"}, {"WHO", "{resource}"}};
  resource.mounts = {{"/sys/class/tty", "/sys/class/tty", true}};
  return resource;
}

plugin::Device device(std::string id, std::string devnode, std::vector<std::string> links = {}) {
  plugin::Device d;
  d.id = std::move(id);
  d.devnode = std::move(devnode);
  d.links = std::move(links);
  return d;
}

}  // namespace

TEST_CASE("CDI claim spec: kind, names and IDs derived from the driver and the claim UID") {
  CHECK(cdiClaimKind("udev.example.com") == "udev.example.com/claim");
  CHECK(cdiClaimDeviceId("udev.example.com", "0b7d-11", "ttyusb0-a1") ==
        "udev.example.com/claim=0b7d-11-ttyusb0-a1");
  CHECK(cdiClaimSpecFileName("udev.example.com", "0b7d-11") ==
        "udev.example.com-claim_0b7d-11.json");
}

TEST_CASE("CDI claim spec: device nodes with uid, gid and mode; env and mounts of the resource") {
  config::Resource resource = serial();
  plugin::Device a = device("A1", "/dev/ttyUSB0");
  plugin::Device b = device("B2", "/dev/ttyUSB1");
  std::string text = renderClaimCdiSpec("udev.example.com", "uid-1",
                                        {{"tty-a1", resource, a}, {"tty-b2", resource, b}});
  auto doc = parsed(text);
  CHECK(std::string(doc["cdiVersion"].GetString()) == "0.5.0");
  CHECK(std::string(doc["kind"].GetString()) == "udev.example.com/claim");
  REQUIRE(doc["devices"].Size() == 2);
  const auto& first = doc["devices"][0];
  CHECK(std::string(first["name"].GetString()) == "uid-1-tty-a1");
  const auto& edits = first["containerEdits"];
  REQUIRE(edits["deviceNodes"].Size() == 1);
  const auto& node = edits["deviceNodes"][0];
  CHECK(std::string(node["path"].GetString()) == "/dev/ttyUSB0");
  CHECK(std::string(node["hostPath"].GetString()) == "/dev/ttyUSB0");
  CHECK(std::string(node["permissions"].GetString()) == "rw");
  CHECK(node["fileMode"].GetUint() == 0660);  // 432: Go's os.FileMode reads a decimal number
  CHECK(node["uid"].GetUint() == 1000);
  CHECK(node["gid"].GetUint() == 20);
  CHECK_FALSE(node.HasMember("type"));  // left to the runtime's lstat of hostPath
  CHECK_FALSE(node.HasMember("major"));
  // The env lists every device of the resource in the claim, on each of its devices.
  REQUIRE(edits["env"].Size() == 2);
  CHECK(std::string(edits["env"][0].GetString()) == "PORTS=/dev/ttyUSB0,/dev/ttyUSB1");
  CHECK(std::string(edits["env"][1].GetString()) == "WHO=example.com/serial");
  REQUIRE(edits["mounts"].Size() == 1);
  CHECK(std::string(edits["mounts"][0]["hostPath"].GetString()) == "/sys/class/tty");
  CHECK(std::string(edits["mounts"][0]["type"].GetString()) == "bind");
  CHECK(std::string(edits["mounts"][0]["options"][1].GetString()) == "ro");
  CHECK(std::string(doc["devices"][1]["name"].GetString()) == "uid-1-tty-b2");
}

TEST_CASE("CDI claim spec: owner and mode left out when not configured; links point at the node") {
  config::Resource resource;
  resource.name = "example.com/disk";
  resource.permissions = "r";
  resource.symlinks = true;
  plugin::Device d = device("S1", "/dev/sda", {"/dev/disk/by-id/ata-S1", "/dev/sda"});
  auto doc = parsed(renderClaimCdiSpec("d.example.com", "u", {{"sda-s1", resource, d}}));
  const auto& nodes = doc["devices"][0]["containerEdits"]["deviceNodes"];
  REQUIRE(nodes.Size() == 2);  // the node, and its link (the link equal to the node is not again)
  CHECK_FALSE(nodes[0].HasMember("uid"));
  CHECK_FALSE(nodes[0].HasMember("gid"));
  CHECK_FALSE(nodes[0].HasMember("fileMode"));
  CHECK(std::string(nodes[1]["path"].GetString()) == "/dev/disk/by-id/ata-S1");
  // The runtime lstat()s hostPath for the node's type and numbers: never the link itself.
  CHECK(std::string(nodes[1]["hostPath"].GetString()) == "/dev/sda");
  CHECK_FALSE(doc["devices"][0]["containerEdits"].HasMember("env"));
  CHECK_FALSE(doc["devices"][0]["containerEdits"].HasMember("mounts"));
}

TEST_CASE("CDI claim spec: containerPath places the node; devices without a node are left out") {
  config::Resource resource;
  resource.name = "example.com/serial";
  resource.containerPath = "/dev/serial/";
  plugin::Device withNode = device("A", "/dev/ttyUSB0");
  plugin::Device without = device("N", "");
  auto doc = parsed(renderClaimCdiSpec("d.example.com", "u",
                                       {{"a", resource, withNode}, {"n", resource, without}}));
  REQUIRE(doc["devices"].Size() == 1);
  CHECK(std::string(doc["devices"][0]["containerEdits"]["deviceNodes"][0]["path"].GetString()) ==
        "/dev/serial/ttyUSB0");
  CHECK(hasCdiEntry(withNode));
  CHECK_FALSE(hasCdiEntry(without));
  CHECK(renderClaimCdiSpec("d.example.com", "u", {{"n", resource, without}}).empty());
}

}  // namespace udp::draplugin
