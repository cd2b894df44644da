#include "dra/resource_slice_builder.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "../../support/strict_utf8.h"
#include "dra/device_name.h"

namespace udp::dra {
namespace {

constexpr const char* kDriver = "udev.example.com";
constexpr const char* kNode = "node-1";

plugin::Device serialAdapter(const std::string& id) {
  plugin::Device d;
  d.id = id;
  d.numaNode = 1;
  d.devnode = "/dev/ttyUSB0";
  d.serial = id;
  d.subsystem = "tty";
  d.driver = "ftdi_sio";
  d.vendor = "Future Technology Devices International, Ltd";
  d.model = "FT232 Serial (UART) IC";
  d.kernel = "ttyUSB0";
  d.vendorId = "0403";
  d.productId = "6001";
  d.idPath = "pci-0000:00:14.0-usb-0:1:1.0";
  return d;
}

plugin::Device zram(const std::string& kernel) {
  plugin::Device d;
  d.id = kernel;
  d.devnode = "/dev/" + kernel;
  d.subsystem = "block";
  d.kernel = kernel;
  d.devtype = "disk";
  return d;
}

PoolSpec pool(std::vector<PoolDevice> devices) {
  PoolSpec spec;
  spec.driver = kDriver;
  spec.nodeName = kNode;
  spec.generation = 7;
  spec.devices = std::move(devices);
  return spec;
}

// Each body parsed back, strictly (valid UTF-8 required).
std::vector<rapidjson::Document> parseAll(const std::vector<ResourceSliceBody>& bodies) {
  std::vector<rapidjson::Document> docs;
  for (const ResourceSliceBody& body : bodies) {
    CHECK(testing::strictUtf8(body.json));
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.json.data(), body.json.size());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::string str(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

bool labelValue(std::string_view v) {
  if (v.size() > 63) return false;
  if (v.empty()) return true;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  for (char c : v) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return alnum(v.front()) && alnum(v.back());
}

// What the API server's validation checks, for every slice.
void checkValid(const rapidjson::Document& doc, size_t sliceCount) {
  CHECK(str(doc["apiVersion"]) == "resource.k8s.io/v1");
  CHECK(str(doc["kind"]) == "ResourceSlice");
  CHECK(isDnsSubdomain(str(doc["metadata"]["name"])));
  for (auto& label : doc["metadata"]["labels"].GetObject()) CHECK(labelValue(str(label.value)));
  const rapidjson::Value& spec = doc["spec"];
  CHECK(str(spec["driver"]) == kDriver);
  CHECK(str(spec["nodeName"]) == kNode);
  CHECK(str(spec["pool"]["name"]) == kNode);
  CHECK(spec["pool"]["resourceSliceCount"].GetInt64() == static_cast<int64_t>(sliceCount));
  const rapidjson::Value& devices = spec["devices"];
  bool tainted = false;
  for (const rapidjson::Value& d : devices.GetArray()) {
    CHECK(isDnsLabel(str(d["name"])));
    CHECK(d["attributes"].MemberCount() <= 32);
    for (auto& a : d["attributes"].GetObject()) {
      if (a.value.HasMember("string")) CHECK(a.value["string"].GetStringLength() <= 64);
    }
    if (d.HasMember("taints")) {
      tainted = true;
      CHECK(d["taints"].Size() <= 16);
      for (const rapidjson::Value& t : d["taints"].GetArray()) {
        CHECK(str(t["key"]) == std::string(kDriver) + "/unhealthy");
        CHECK(labelValue(str(t["value"])));
      }
    }
  }
  CHECK(devices.Size() <= (tainted ? 64u : 128u));
}

TEST_CASE("one slice for a small pool, with every attribute udev gave") {
  Result<std::vector<ResourceSliceBody>> slices =
      buildResourceSlices(pool({{"example.com/zram", zram("zram1"), ""},
                                {"example.com/serial", serialAdapter("A1B2C3"), ""},
                                {"example.com/zram", zram("zram0"), ""}}));
  REQUIRE(slices.ok());
  REQUIRE(slices->size() == 1);
  CHECK((*slices)[0].name == "node-1-udev-example-com-0");
  CHECK((*slices)[0].devices == 3);
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  const rapidjson::Document& doc = docs[0];
  checkValid(doc, 1);
  CHECK(str(doc["metadata"]["labels"]["app.kubernetes.io/managed-by"]) == "udev-device-plugin");
  CHECK(str(doc["metadata"]["labels"]["udev-device-plugin/driver"]) == kDriver);
  CHECK_FALSE(doc["metadata"].HasMember("resourceVersion"));
  CHECK_FALSE(doc["metadata"].HasMember("ownerReferences"));
  CHECK(doc["spec"]["pool"]["generation"].GetInt64() == 7);

  const rapidjson::Value& devices = doc["spec"]["devices"];
  REQUIRE(devices.Size() == 3);
  // Resource, then name.
  CHECK(str(devices[0]["name"]) == deviceNameFor("example.com/serial", "A1B2C3"));
  CHECK(str(devices[1]["name"]) == "zram-zram0");
  CHECK(str(devices[2]["name"]) == "zram-zram1");

  const rapidjson::Value& serial = devices[0]["attributes"];
  CHECK(str(serial["resource"]["string"]) == "example.com/serial");
  CHECK(str(serial["subsystem"]["string"]) == "tty");
  CHECK(str(serial["kernel"]["string"]) == "ttyUSB0");
  CHECK(str(serial["devnode"]["string"]) == "/dev/ttyUSB0");
  CHECK(str(serial["driver"]["string"]) == "ftdi_sio");
  CHECK(str(serial["vendorId"]["string"]) == "0403");
  CHECK(str(serial["productId"]["string"]) == "6001");
  CHECK(str(serial["vendor"]["string"]) == "Future Technology Devices International, Ltd");
  CHECK(str(serial["model"]["string"]) == "FT232 Serial (UART) IC");
  CHECK(str(serial["serial"]["string"]) == "A1B2C3");
  CHECK(str(serial["idPath"]["string"]) == "pci-0000:00:14.0-usb-0:1:1.0");
  CHECK(serial["resource.kubernetes.io/numaNode"]["int"].GetInt64() == 1);
  CHECK(serial["numaNode"]["int"].GetInt64() == 1);
  CHECK_FALSE(serial.HasMember("devtype"));  // empty: left out
  CHECK(serial.MemberCount() == 13);
  CHECK_FALSE(devices[0].HasMember("taints"));

  const rapidjson::Value& z = devices[1]["attributes"];
  CHECK(str(z["devtype"]["string"]) == "disk");
  CHECK_FALSE(z.HasMember("resource.kubernetes.io/numaNode"));  // unknown
  CHECK_FALSE(z.HasMember("numaNode"));
  CHECK_FALSE(z.HasMember("serial"));
  CHECK(z.MemberCount() == 5);  // resource, subsystem, kernel, devnode, devtype
}

TEST_CASE("before 1.37 the NUMA node is only the driver's own attribute") {
  PoolSpec spec = pool({{"example.com/serial", serialAdapter("A1B2C3"), ""}});
  spec.standardNumaNode = false;
  Result<std::vector<ResourceSliceBody>> slices = buildResourceSlices(spec);
  REQUIRE(slices.ok());
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  const rapidjson::Value& a = docs[0]["spec"]["devices"][0]["attributes"];
  CHECK(a["numaNode"]["int"].GetInt64() == 1);
  CHECK_FALSE(a.HasMember("resource.kubernetes.io/numaNode"));
}

TEST_CASE("unhealthy devices are tainted: NoSchedule, and NoExecute once removed") {
  plugin::Device failing = zram("zram0");
  failing.healthy = false;
  failing.healthReason = "attribute online is \"0\", expected \"1\"";
  plugin::Device gone = zram("zram1");
  gone.healthy = false;
  gone.removed = true;
  gone.healthReason = "removed";
  plugin::Device silent = zram("zram2");
  silent.healthy = false;
  Result<std::vector<ResourceSliceBody>> slices =
      buildResourceSlices(pool({{"example.com/zram", failing, ""},
                                {"example.com/zram", gone, "2025-09-01T10:00:00Z"},
                                {"example.com/zram", silent, ""},
                                {"example.com/zram", zram("zram3"), ""}}));
  REQUIRE(slices.ok());
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  checkValid(docs[0], 1);
  const rapidjson::Value& devices = docs[0]["spec"]["devices"];
  REQUIRE(devices.Size() == 4);

  const rapidjson::Value& t0 = devices[0]["taints"];
  REQUIRE(t0.Size() == 1);
  CHECK(str(t0[0]["key"]) == "udev.example.com/unhealthy");
  CHECK(str(t0[0]["value"]) == "attribute-online-is-0-expected-1");
  CHECK(str(t0[0]["effect"]) == "NoSchedule");
  CHECK_FALSE(t0[0].HasMember("timeAdded"));

  const rapidjson::Value& t1 = devices[1]["taints"];
  REQUIRE(t1.Size() == 2);
  CHECK(str(t1[0]["value"]) == "removed");
  CHECK(str(t1[0]["effect"]) == "NoSchedule");
  CHECK(str(t1[1]["effect"]) == "NoExecute");
  CHECK(str(t1[1]["timeAdded"]) == "2025-09-01T10:00:00Z");

  CHECK(str(devices[2]["taints"][0]["value"]) == "unhealthy");
  CHECK_FALSE(devices[3].HasMember("taints"));
}

TEST_CASE("where taints would be dropped, unhealthy devices are left out") {
  plugin::Device gone = zram("zram1");
  gone.healthy = false;
  gone.removed = true;
  PoolSpec spec = pool({{"example.com/zram", zram("zram0"), ""}, {"example.com/zram", gone, ""}});
  spec.unhealthy = UnhealthyDevices::kOmit;
  Result<std::vector<ResourceSliceBody>> slices = buildResourceSlices(spec);
  REQUIRE(slices.ok());
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  REQUIRE(docs[0]["spec"]["devices"].Size() == 1);
  CHECK(str(docs[0]["spec"]["devices"][0]["name"]) == "zram-zram0");
}

TEST_CASE("large pools: 128 a slice, the same count and generation in all, names in order") {
  std::vector<PoolDevice> devices;
  for (int i = 0; i < 300; ++i) {
    devices.push_back({"example.com/zram", zram("zram" + std::to_string(1000 + i)), ""});
  }
  Result<std::vector<ResourceSliceBody>> slices = buildResourceSlices(pool(devices));
  REQUIRE(slices.ok());
  REQUIRE(slices->size() == 3);
  CHECK((*slices)[0].devices == 128);
  CHECK((*slices)[1].devices == 128);
  CHECK((*slices)[2].devices == 44);
  CHECK((*slices)[2].name == "node-1-udev-example-com-2");
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  std::vector<std::string> names;
  for (const rapidjson::Document& doc : docs) {
    checkValid(doc, 3);
    CHECK(doc["spec"]["pool"]["generation"].GetInt64() == 7);
    for (const rapidjson::Value& d : doc["spec"]["devices"].GetArray())
      names.push_back(str(d["name"]));
  }
  CHECK(names.size() == 300);
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == 300);
}

TEST_CASE("a slice with a tainted device holds at most 64") {
  std::vector<PoolDevice> devices;
  for (int i = 0; i < 200; ++i) {
    plugin::Device d = zram("zram" + std::to_string(1000 + i));
    if (i == 100 || i == 190) {
      d.healthy = false;
      d.healthReason = "removed";
    }
    devices.push_back({"example.com/zram", d, ""});
  }
  Result<std::vector<ResourceSliceBody>> slices = buildResourceSlices(pool(devices));
  REQUIRE(slices.ok());
  REQUIRE(slices->size() == 3);
  CHECK((*slices)[0].devices == 100);  // untainted: closed before the tainted one
  CHECK((*slices)[1].devices == 64);   // 100..163, with the first tainted device
  CHECK((*slices)[2].devices == 36);   // 164..199, with the second
  for (const rapidjson::Document& doc : parseAll(*slices)) checkValid(doc, 3);
}

TEST_CASE("an empty pool is still one slice") {
  Result<std::vector<ResourceSliceBody>> slices = buildResourceSlices(pool({}));
  REQUIRE(slices.ok());
  REQUIRE(slices->size() == 1);
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  checkValid(docs[0], 1);
  CHECK(docs[0]["spec"]["devices"].IsArray());
  CHECK(docs[0]["spec"]["devices"].Empty());
}

TEST_CASE(
    "updates carry the existing slice's resourceVersion; owner when the node's UID is known") {
  PoolSpec spec = pool({{"example.com/zram", zram("zram0"), ""}});
  spec.nodeUid = "4a5b6c7d-0000-4000-8000-000000000001";
  Result<std::vector<ResourceSliceBody>> slices =
      buildResourceSlices(spec, {{"node-1-udev-example-com-0", "48213"}, {"other", "1"}});
  REQUIRE(slices.ok());
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  CHECK(str(docs[0]["metadata"]["resourceVersion"]) == "48213");
  const rapidjson::Value& owner = docs[0]["metadata"]["ownerReferences"][0];
  CHECK(str(owner["kind"]) == "Node");
  CHECK(str(owner["name"]) == kNode);
  CHECK(str(owner["uid"]) == "4a5b6c7d-0000-4000-8000-000000000001");
}

TEST_CASE("the same devices in any order give the same bytes") {
  std::vector<PoolDevice> devices = {{"example.com/zram", zram("zram0"), ""},
                                     {"example.com/serial", serialAdapter("X"), ""},
                                     {"example.com/zram", zram("zram2"), ""}};
  Result<std::vector<ResourceSliceBody>> a = buildResourceSlices(pool(devices));
  std::reverse(devices.begin(), devices.end());
  Result<std::vector<ResourceSliceBody>> b = buildResourceSlices(pool(devices));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)[0].json == (*b)[0].json);
}

TEST_CASE("attribute values: at most 64 bytes, cut at a character, valid UTF-8") {
  plugin::Device d = zram("zram0");
  d.model = std::string(70, 'm');
  d.vendor = std::string(63, 'v') + "\xc3\xa9";  // 65 bytes: the é does not fit
  d.serial = "bad\xff\xfe";
  Result<std::vector<ResourceSliceBody>> slices =
      buildResourceSlices(pool({{"example.com/zram", d, ""}}));
  REQUIRE(slices.ok());
  std::vector<rapidjson::Document> docs = parseAll(*slices);
  const rapidjson::Value& a = docs[0]["spec"]["devices"][0]["attributes"];
  CHECK(str(a["model"]["string"]) == std::string(64, 'm'));
  CHECK(str(a["vendor"]["string"]) == std::string(63, 'v'));
  CHECK(str(a["serial"]["string"]) == "bad\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("invalid pools are refused") {
  PoolSpec spec = pool({});
  spec.driver = "Udev.Example.com";
  CHECK_FALSE(buildResourceSlices(spec).ok());
  spec.driver = std::string(60, 'a') + ".com";
  CHECK_FALSE(buildResourceSlices(spec).ok());
  spec = pool({});
  spec.nodeName = "";
  CHECK_FALSE(buildResourceSlices(spec).ok());
  spec = pool({});
  spec.generation = -1;
  CHECK_FALSE(buildResourceSlices(spec).ok());

  // Two resources with one short name in two domains: the same device name.
  Result<std::vector<ResourceSliceBody>> clash = buildResourceSlices(
      pool({{"a.example.com/zram", zram("zram0"), ""}, {"b.example.com/zram", zram("zram0"), ""}}));
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.error().message ==
        "devices a.example.com/zram zram0 and b.example.com/zram zram0 would both be named "
        "zram-zram0");
}

TEST_CASE("slice names stay valid for the longest node names") {
  CHECK(resourceSliceName("node-1", "udev.example.com", 0) == "node-1-udev-example-com-0");
  CHECK(resourceSliceName("n.example.internal", "d.io", 12) == "n.example.internal-d-io-12");
  const std::string node = std::string(120, 'a') + "." + std::string(132, 'b');
  const std::string name = resourceSliceName(node, "udev.example.com", 3);
  CHECK(name.size() <= 253);
  CHECK(isDnsSubdomain(name));
  CHECK(name.ends_with("-3"));
  CHECK(name != resourceSliceName(node + "c", "udev.example.com", 3));
  PoolSpec spec = pool({});
  spec.nodeName = node;
  Result<std::vector<ResourceSliceBody>> slices = buildResourceSlices(spec);
  REQUIRE(slices.ok());
  CHECK((*slices)[0].name == resourceSliceName(node, "udev.example.com", 0));
}

TEST_CASE("taint values are label values") {
  CHECK(taintValue("removed") == "removed");
  CHECK(taintValue("attribute online is \"0\", expected \"1\"") ==
        "attribute-online-is-0-expected-1");
  CHECK(taintValue("") == "unhealthy");
  CHECK(taintValue("\"\"") == "unhealthy");
  CHECK(taintValue("Attribute STATE") == "attribute-state");
  CHECK(taintValue(std::string(100, 'x')).size() == 63);
  CHECK(taintValue(std::string(62, 'x') + " y") == std::string(62, 'x'));  // no '-' at the end
  CHECK(labelValue(taintValue(std::string(62, 'x') + " y")));
  CHECK(labelValue(taintValue(std::string(62, 'x') + " ")));
}

}  // namespace
}  // namespace udp::dra
