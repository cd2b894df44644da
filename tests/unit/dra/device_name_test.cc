#include "dra/device_name.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace udp::dra {
namespace {

TEST_CASE("a plain ID keeps a readable name: <short name>-<id>") {
  CHECK(deviceNameFor("example.com/zram", "zram1") == "zram-zram1");
  CHECK(deviceNameFor("example.com/fpga", "pci-0000-3b-00-0") == "fpga-pci-0000-3b-00-0");
  CHECK(deviceNameFor("zram", "zram1") == "zram-zram1");  // no domain: all of it is the short name
}

TEST_CASE("names are derived from the inputs only, so they survive restarts and upgrades") {
  CHECK(deviceNameFor("example.com/serial", "A1B2C3") ==
        deviceNameFor("example.com/serial", "A1B2C3"));
  // Pinned: a change here renames every published device and strands allocated claims.
  CHECK(deviceNameFor("example.com/serial", "A1B2C3") == "serial-a1b2c3-ba9bf764");
}

TEST_CASE("the same ID in two resources gives two names") {
  CHECK(deviceNameFor("example.com/zram", "zram1") != deviceNameFor("example.com/disk", "zram1"));
  // A short name with '-' could be read as another resource's name plus an ID: hashed.
  std::string a = deviceNameFor("example.com/usb", "serial-x");
  std::string b = deviceNameFor("example.com/usb-serial", "x");
  CHECK(a == "usb-serial-x");
  CHECK(b != a);
  CHECK(b.starts_with("usb-serial-x-"));
}

TEST_CASE("what sanitising loses is kept apart by a hash") {
  const std::string resource = "example.com/serial";
  std::set<std::string> names;
  for (const char* id : {"ABC", "abc", "Abc", "a_b", "a.b", "a:b", "a-b", "a b", "a/b", "a\nb",
                         "a\xc3\xa9", "a\xff"}) {
    std::string name = deviceNameFor(resource, id);
    INFO(id, " -> ", name);
    CHECK(isDnsLabel(name));
    CHECK(names.insert(name).second);
  }
  CHECK(deviceNameFor(resource, "abc") == "serial-abc");
  CHECK(deviceNameFor(resource, "a-b") == "serial-a-b");
  CHECK(deviceNameFor(resource, "ABC").starts_with("serial-abc-"));
  CHECK(deviceNameFor(resource, "a_b").starts_with("serial-a-b-"));
  CHECK(deviceNameFor(resource, "a.b").starts_with("serial-a-b-"));
  CHECK(deviceNameFor(resource, "a:b").starts_with("serial-a-b-"));
  CHECK(deviceNameFor(resource, "ABC").size() == std::string("serial-abc-").size() + 8);
}

TEST_CASE("long IDs are cut to 63 characters, apart by their hash") {
  const std::string a(200, 'a');
  const std::string b = std::string(199, 'a') + "b";
  const std::string x = deviceNameFor("example.com/block", a);
  const std::string y = deviceNameFor("example.com/block", b);
  CHECK(x.size() == 63);
  CHECK(y.size() == 63);
  CHECK(isDnsLabel(x));
  CHECK(isDnsLabel(y));
  CHECK(x != y);
  CHECK(x.starts_with("block-aaaa"));
  // 63 exactly still fits unchanged; 64 does not.
  CHECK(deviceNameFor("example.com/b", std::string(61, 'c')) == "b-" + std::string(61, 'c'));
  CHECK(deviceNameFor("example.com/b", std::string(62, 'c')).size() == 63);
  CHECK(deviceNameFor("example.com/b", std::string(62, 'c')) !=
        "b-" + std::string(52, 'c') + "-" + std::string(8, 'c'));
}

TEST_CASE("edges: no readable part left, separators at the ends") {
  CHECK(isDnsLabel(deviceNameFor("example.com/serial", "")));
  CHECK(deviceNameFor("example.com/serial", "") != "serial");
  CHECK(isDnsLabel(deviceNameFor("", "")));
  CHECK(deviceNameFor("", "").size() == 8);
  CHECK(isDnsLabel(deviceNameFor("example.com/_", "___")));
  CHECK(isDnsLabel(deviceNameFor("example.com/x", "id-")));
  CHECK(deviceNameFor("example.com/x", "id-").starts_with("x-id-"));
  CHECK(isDnsLabel(deviceNameFor("example.com/", "id")));
  CHECK(isDnsLabel(deviceNameFor("example.com/x", std::string(70, '-'))));
}

TEST_CASE("many IDs of one pool never share a name") {
  std::set<std::string> names;
  size_t count = 0;
  for (const char* resource : {"example.com/serial", "example.com/zram", "example.com/usb-disk"}) {
    for (int i = 0; i < 2000; ++i) {
      const std::string n = std::to_string(i);
      for (const std::string& id :
           {"dev" + n, "DEV" + n, "dev_" + n, "dev." + n, std::string(80, 'x') + n}) {
        std::string name = deviceNameFor(resource, id);
        CHECK(isDnsLabel(name));
        names.insert(name);
        ++count;
      }
    }
  }
  CHECK(names.size() == count);
}

TEST_CASE("isDnsLabel is RFC 1123") {
  CHECK(isDnsLabel("a"));
  CHECK(isDnsLabel("0"));
  CHECK(isDnsLabel("a-b"));
  CHECK(isDnsLabel("a--b"));
  CHECK(isDnsLabel(std::string(63, 'a')));
  CHECK_FALSE(isDnsLabel(std::string(64, 'a')));
  CHECK_FALSE(isDnsLabel(""));
  CHECK_FALSE(isDnsLabel("-a"));
  CHECK_FALSE(isDnsLabel("a-"));
  CHECK_FALSE(isDnsLabel("A"));
  CHECK_FALSE(isDnsLabel("a.b"));
  CHECK_FALSE(isDnsLabel("a_b"));
}

TEST_CASE("isDnsSubdomain is Kubernetes' IsDNS1123Subdomain") {
  CHECK(isDnsSubdomain("udev.example.com"));
  CHECK(isDnsSubdomain("node-1"));
  CHECK(isDnsSubdomain("a.b-c.d"));
  CHECK(isDnsSubdomain(std::string(253, 'a')));
  CHECK_FALSE(isDnsSubdomain(std::string(254, 'a')));
  CHECK_FALSE(isDnsSubdomain(std::string(64, 'a'), 63));
  CHECK_FALSE(isDnsSubdomain(""));
  CHECK_FALSE(isDnsSubdomain("a..b"));
  CHECK_FALSE(isDnsSubdomain(".a"));
  CHECK_FALSE(isDnsSubdomain("a."));
  CHECK_FALSE(isDnsSubdomain("a-.b"));
  CHECK_FALSE(isDnsSubdomain("a.-b"));
  CHECK_FALSE(isDnsSubdomain("Udev.example.com"));
  CHECK_FALSE(isDnsSubdomain("a_b"));
}

}  // namespace
}  // namespace udp::dra
