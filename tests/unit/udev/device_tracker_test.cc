#include "udev/device_tracker.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "udev/device_id.h"

#include "record_builder.h"
#include "recording_sink.h"

namespace udp::udev {
namespace {

using testing::plainRecord;
using testing::RecordingSink;
using testing::usbSerialRecord;

constexpr const char* kSerial = "example.com/serial";
constexpr const char* kBlock = "example.com/zram";

config::Resource serialResource() {
  config::Resource r;
  r.name = kSerial;
  config::MatchRule rule;
  rule.subsystem = "tty";
  rule.kernel = "ttyUSB*";
  r.match = {rule};
  return r;
}

config::Resource blockResource() {
  config::Resource r;
  r.name = kBlock;
  config::MatchRule rule;
  rule.subsystem = "block";
  rule.kernel = "zram*";
  r.match = {rule};
  return r;
}

// The same adapter replugged: another kernel name and syspath, the same serial.
DeviceRecord renumbered(const DeviceRecord& from, const std::string& sysname) {
  DeviceRecord r = from;
  r.sysname = sysname;
  r.devnode = "/dev/" + sysname;
  r.syspath =
      "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/" + sysname + "/tty/" + sysname;
  r.devpath = r.syspath.substr(4);
  return r;
}

TEST_CASE("a device is reported once to each resource it matches") {
  DeviceTracker tracker({serialResource(), blockResource()});
  RecordingSink sink;
  tracker.update(usbSerialRecord(), sink);
  tracker.update(plainRecord("zram0"), sink);
  tracker.update(plainRecord("loop0"), sink);  // matches nothing
  CHECK(sink.calls.size() == 2);
  CHECK(sink.find(kSerial, "A1B2C3") != nullptr);
  CHECK(sink.find(kBlock, "zram0") != nullptr);

  SUBCASE("sightings of an unchanged device (the add event after enumeration) are dropped") {
    tracker.update(usbSerialRecord(), sink);
    tracker.update(plainRecord("zram0"), sink);
    CHECK(sink.calls.size() == 2);
  }
  SUBCASE("a change is reported under the same ID") {
    DeviceRecord changed = usbSerialRecord();
    changed.devlinks.push_back("/dev/serial/extra");
    tracker.update(changed, sink);
    REQUIRE(sink.calls.size() == 3);
    CHECK(sink.calls.back().upsert);
    CHECK(sink.find(kSerial, "A1B2C3")->links.size() == 3);
  }
  SUBCASE("a device that stops matching is removed") {
    DeviceRecord other = usbSerialRecord();
    other.sysname = "ttyACM0";
    tracker.update(other, sink);
    CHECK(sink.count(kSerial) == 0);
    CHECK_FALSE(sink.calls.back().upsert);
  }
  SUBCASE("remove drops it by ID") {
    tracker.remove(usbSerialRecord().syspath, sink);
    CHECK(sink.count(kSerial) == 0);
    CHECK(sink.count(kBlock) == 1);
    tracker.remove(usbSerialRecord().syspath, sink);  // twice is harmless
    CHECK(sink.calls.size() == 3);
  }
}

TEST_CASE("IDs survive renumbering") {
  DeviceTracker tracker({serialResource()});
  RecordingSink sink;
  tracker.update(usbSerialRecord(), sink);
  tracker.remove(usbSerialRecord().syspath, sink);
  DeviceRecord again = renumbered(usbSerialRecord(), "ttyUSB1");
  tracker.update(again, sink);
  REQUIRE(sink.count(kSerial) == 1);
  const plugin::Device* d = sink.find(kSerial, "A1B2C3");
  REQUIRE(d != nullptr);
  CHECK(d->devnode == "/dev/ttyUSB1");
}

// The second port of a dual-port adapter: the same serial, its own interface and ID_PATH.
DeviceRecord secondPort(const std::string& sysname = "ttyUSB1") {
  DeviceRecord r = renumbered(usbSerialRecord(), sysname);
  r.properties["ID_PATH"] = "pci-0000:00:14.0-usb-0:1:1.1";
  return r;
}

// The base IDs a tracker fed `records` in this order ends up with, by syspath.
std::map<std::string, std::string> idsAfter(const std::vector<DeviceRecord>& records,
                                            const config::Resource& resource) {
  DeviceTracker tracker({resource});
  RecordingSink sink;
  for (const DeviceRecord& r : records) tracker.update(r, sink);
  std::map<std::string, std::string> out;
  for (const auto& [id, device] : sink.devices[resource.name]) out[device.syspath] = id;
  CHECK(out.size() == sink.count(resource.name));  // unique
  return out;
}

TEST_CASE("colliding IDs: every colliding device gets its ID_PATH, whatever the order") {
  DeviceRecord port0 = usbSerialRecord();
  DeviceRecord port1 = secondPort();
  auto forward = idsAfter({port0, port1}, serialResource());
  auto backward = idsAfter({port1, port0}, serialResource());
  CHECK(forward == backward);
  CHECK(forward[port0.syspath] == "A1B2C3-pci-0000_00_14.0-usb-0_1_1.0");
  CHECK(forward[port1.syspath] == "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1");

  SUBCASE("with one ID_PATH for both (or none), the devpath tells them apart") {
    DeviceRecord samePath = renumbered(usbSerialRecord(), "ttyUSB1");
    auto a = idsAfter({port0, samePath}, serialResource());
    auto b = idsAfter({samePath, port0}, serialResource());
    CHECK(a == b);
    CHECK(a[port0.syspath] != a[samePath.syspath]);
    CHECK(a[port0.syspath].starts_with("A1B2C3-_devices_pci0000_00"));
    for (const auto& [syspath, id] : a) CHECK(id.size() <= kMaxDeviceIdLength);
  }
  SUBCASE("three ports in every order give one mapping") {
    DeviceRecord port2 = secondPort("ttyUSB2");
    port2.properties["ID_PATH"] = "pci-0000:00:14.0-usb-0:1:1.2";
    std::vector<DeviceRecord> records = {port0, port1, port2};
    std::sort(records.begin(), records.end(),
              [](const auto& x, const auto& y) { return x.syspath < y.syspath; });
    auto first = idsAfter(records, serialResource());
    while (std::next_permutation(records.begin(), records.end(), [](const auto& x, const auto& y) {
      return x.syspath < y.syspath;
    })) {
      CHECK(idsAfter(records, serialResource()) == first);
    }
  }
  SUBCASE("shares: the suffixed IDs leave room for the share number") {
    config::Resource shared = serialResource();
    shared.shares = 100;
    DeviceRecord longPath = secondPort();
    longPath.properties["ID_PATH"] = std::string(80, 'p');
    DeviceTracker tracker({shared});
    RecordingSink sink;
    tracker.update(port0, sink);
    tracker.update(longPath, sink);
    CHECK(sink.count(kSerial) == 200);
    for (const auto& [id, device] : sink.devices[kSerial]) CHECK(id.size() <= kMaxDeviceIdLength);
  }
}

TEST_CASE("colliding IDs: what joining and leaving a collision does") {
  DeviceTracker tracker({serialResource(), blockResource()});
  RecordingSink sink;
  DeviceRecord port0 = usbSerialRecord();
  DeviceRecord port1 = secondPort();
  tracker.update(plainRecord("zram0"), sink);
  tracker.update(port0, sink);
  CHECK(sink.find(kSerial, "A1B2C3") != nullptr);

  // The second port joins: the first is renamed too, so both IDs depend on the set only.
  tracker.update(port1, sink);
  CHECK(sink.count(kSerial) == 2);
  CHECK(sink.find(kSerial, "A1B2C3") == nullptr);
  CHECK(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.0") != nullptr);
  CHECK(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1") != nullptr);
  size_t calls = sink.calls.size();
  tracker.update(port1, sink);  // a second sighting changes nothing
  tracker.update(port0, sink);
  CHECK(sink.calls.size() == calls);
  CHECK(sink.find(kBlock, "zram0") != nullptr);  // other groups are untouched

  SUBCASE("the last but one leaving gives the plain ID back") {
    tracker.remove(port1.syspath, sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.find(kSerial, "A1B2C3") != nullptr);
  }
  SUBCASE("a device whose own ID is another's suffixed one") {
    DeviceRecord odd = plainRecord("ttyUSB9", "tty");
    odd.sysname = "ttyUSB9";
    odd.properties["ID_SERIAL_SHORT"] = "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1";
    tracker.update(odd, sink);
    CHECK(sink.count(kSerial) == 3);
    CHECK(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1") != nullptr);
    CHECK(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1-2") != nullptr);
  }
}

TEST_CASE("colliding IDs with onRemove: unhealthy: a removal renames nobody") {
  config::Resource resource = serialResource();
  resource.onRemove = config::OnRemove::kUnhealthy;
  DeviceTracker tracker({resource});
  RecordingSink sink;
  DeviceRecord port0 = usbSerialRecord();
  DeviceRecord port1 = secondPort();
  tracker.update(port0, sink);
  tracker.update(port1, sink);
  tracker.remove(port1.syspath, sink);
  CHECK(sink.count(kSerial) == 2);
  CHECK(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.0")->healthy);
  CHECK_FALSE(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1")->healthy);
  tracker.update(port1, sink);
  CHECK(sink.count(kSerial) == 2);
  CHECK(sink.find(kSerial, "A1B2C3-pci-0000_00_14.0-usb-0_1_1.1")->healthy);
}

TEST_CASE("a device belongs to the first resource whose rules match it") {
  config::Resource anyTty = serialResource();
  anyTty.name = "example.com/tty";
  anyTty.match[0].kernel = "tty*";
  DeviceRecord port = usbSerialRecord();

  SUBCASE("a later resource does not see it") {
    DeviceTracker tracker({serialResource(), anyTty});
    RecordingSink sink;
    tracker.update(port, sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.count("example.com/tty") == 0);
    CHECK(tracker.devices("example.com/tty").empty());

    // When the first stops matching, the next one gets it.
    DeviceRecord acm = port;
    acm.sysname = "ttyACM0";
    tracker.update(acm, sink);
    CHECK(sink.count(kSerial) == 0);
    CHECK(sink.count("example.com/tty") == 1);
  }
  SUBCASE("config order decides, not rule order within the file") {
    DeviceTracker tracker({anyTty, serialResource()});
    RecordingSink sink;
    tracker.update(port, sink);
    CHECK(sink.count("example.com/tty") == 1);
    CHECK(sink.count(kSerial) == 0);
  }
  SUBCASE("shareDevicesWithEarlierResources lets a later one see it too") {
    anyTty.shareDevicesWithEarlierResources = true;
    DeviceTracker tracker({serialResource(), anyTty});
    RecordingSink sink;
    tracker.update(port, sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.count("example.com/tty") == 1);
    tracker.remove(port.syspath, sink);
    CHECK(sink.count(kSerial) == 0);
    CHECK(sink.count("example.com/tty") == 0);
  }
  SUBCASE("the flag on the first resource shares nothing") {
    config::Resource first = serialResource();
    first.shareDevicesWithEarlierResources = true;
    DeviceTracker tracker({first, anyTty});
    RecordingSink sink;
    tracker.update(port, sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.count("example.com/tty") == 0);
  }
}

TEST_CASE("when the ID source changes the old ID goes") {
  DeviceTracker tracker({serialResource()});
  RecordingSink sink;
  DeviceRecord early = usbSerialRecord();
  early.properties.clear();  // enumerated before udevd filled its database
  tracker.update(early, sink);
  CHECK(sink.find(kSerial, "ttyUSB0") != nullptr);
  tracker.update(usbSerialRecord(), sink);
  CHECK(sink.find(kSerial, "ttyUSB0") == nullptr);
  CHECK(sink.find(kSerial, "A1B2C3") != nullptr);
}

TEST_CASE("shares: one device, one upsert and one remove per share") {
  config::Resource shared = blockResource();
  shared.shares = 3;
  DeviceTracker tracker({shared});
  RecordingSink sink;
  tracker.update(plainRecord("zram0"), sink);
  CHECK(sink.count(kBlock) == 3);
  CHECK(sink.find(kBlock, "zram0-0") != nullptr);
  CHECK(sink.find(kBlock, "zram0-2") != nullptr);
  CHECK(tracker.devices(kBlock).size() == 3);
  tracker.remove(plainRecord("zram0").syspath, sink);
  CHECK(sink.count(kBlock) == 0);
  CHECK(sink.calls.size() == 6);
}

TEST_CASE("onRemove: unhealthy keeps the device, marked, until it comes back") {
  config::Resource resource = serialResource();
  resource.onRemove = config::OnRemove::kUnhealthy;
  DeviceTracker tracker({resource});
  RecordingSink sink;
  tracker.update(usbSerialRecord(), sink);
  tracker.remove(usbSerialRecord().syspath, sink);
  REQUIRE(sink.find(kSerial, "A1B2C3") != nullptr);
  CHECK_FALSE(sink.find(kSerial, "A1B2C3")->healthy);
  CHECK(sink.find(kSerial, "A1B2C3")->removed);
  CHECK(sink.find(kSerial, "A1B2C3")->healthReason == "removed");
  tracker.remove(usbSerialRecord().syspath, sink);  // no second report
  CHECK(sink.calls.size() == 2);

  SUBCASE("back under another kernel name: same ID, healthy, no leftover") {
    tracker.update(renumbered(usbSerialRecord(), "ttyUSB3"), sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.find(kSerial, "A1B2C3")->healthy);
    CHECK_FALSE(sink.find(kSerial, "A1B2C3")->removed);
    CHECK(sink.find(kSerial, "A1B2C3")->healthReason.empty());
    CHECK(sink.find(kSerial, "A1B2C3")->devnode == "/dev/ttyUSB3");
    CHECK(sink.find(kSerial, "A1B2C3")->kernel == "ttyUSB3");
    CHECK(tracker.devices(kSerial).size() == 1);
  }
  SUBCASE("back at the same place") {
    tracker.update(usbSerialRecord(), sink);
    CHECK(sink.find(kSerial, "A1B2C3")->healthy);
    CHECK(sink.calls.size() == 3);
  }
  SUBCASE("stopping to match counts as removal") {
    DeviceTracker t2({resource});
    RecordingSink s2;
    t2.update(usbSerialRecord(), s2);
    DeviceRecord other = usbSerialRecord();
    other.subsystem = "usb-serial";
    t2.update(other, s2);
    CHECK(s2.count(kSerial) == 1);
    CHECK_FALSE(s2.find(kSerial, "A1B2C3")->healthy);
  }
}

TEST_CASE("health changes are reported") {
  config::Resource resource = blockResource();
  resource.health = config::HealthAttribute{"size", "[1-9]*"};
  DeviceTracker tracker({resource});
  RecordingSink sink;
  tracker.update(plainRecord("zram0"), sink);
  CHECK_FALSE(sink.find(kBlock, "zram0")->healthy);
  CHECK(sink.find(kBlock, "zram0")->healthReason == "attribute size is \"0\", expected \"[1-9]*\"");
  CHECK_FALSE(sink.find(kBlock, "zram0")->removed);
  DeviceRecord sized = plainRecord("zram0");
  sized.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"size", "2048\n"}}});
  tracker.update(sized, sink);
  CHECK(sink.find(kBlock, "zram0")->healthy);
  CHECK(sink.find(kBlock, "zram0")->healthReason.empty());
}

TEST_CASE("move: the old entry goes, keyed by the old syspath") {
  DeviceTracker tracker({serialResource(), blockResource()});
  RecordingSink sink;

  SUBCASE("an ID from the serial survives") {
    tracker.update(usbSerialRecord(), sink);
    DeviceRecord moved = renumbered(usbSerialRecord(), "ttyUSB7");
    tracker.move(usbSerialRecord().syspath, moved, sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.find(kSerial, "A1B2C3")->syspath == moved.syspath);
    CHECK(sink.calls.back().upsert);
    tracker.remove(usbSerialRecord().syspath, sink);  // the old path is no longer tracked
    CHECK(sink.count(kSerial) == 1);
    tracker.remove(moved.syspath, sink);
    CHECK(sink.count(kSerial) == 0);
  }
  SUBCASE("an ID from the kernel name is replaced") {
    tracker.update(plainRecord("zram0"), sink);
    tracker.move(plainRecord("zram0").syspath, plainRecord("zram5"), sink);
    CHECK(sink.find(kBlock, "zram0") == nullptr);
    CHECK(sink.find(kBlock, "zram5") != nullptr);
    CHECK(tracker.devices(kBlock).size() == 1);
  }
  SUBCASE("a move to a path already reported drops the stale entry") {
    tracker.update(plainRecord("zram0"), sink);
    tracker.update(plainRecord("zram5"), sink);
    tracker.move(plainRecord("zram0").syspath, plainRecord("zram5"), sink);
    CHECK(sink.count(kBlock) == 1);
    CHECK(tracker.devices(kBlock).size() == 1);
  }
  SUBCASE("a move of an untracked device is an add") {
    tracker.move("/sys/devices/virtual/block/nothing", plainRecord("zram2"), sink);
    CHECK(sink.find(kBlock, "zram2") != nullptr);
  }
}

TEST_CASE("reconcile after lost events") {
  config::Resource serial = serialResource();
  serial.onRemove = config::OnRemove::kUnhealthy;
  DeviceTracker tracker({serial, blockResource()});
  RecordingSink sink;
  tracker.update(usbSerialRecord(), sink);
  tracker.update(plainRecord("zram0"), sink);
  tracker.update(plainRecord("zram1"), sink);
  size_t before = sink.calls.size();

  // Meanwhile: zram0 went, zram2 came, the adapter was replugged as ttyUSB1.
  DeviceRecord replugged = renumbered(usbSerialRecord(), "ttyUSB1");
  std::vector<DeviceRecord> now = {plainRecord("zram1"), plainRecord("zram2"), replugged};
  std::set<std::string, std::less<>> present;
  for (const DeviceRecord& r : now) present.insert(r.syspath);
  tracker.removeAbsent(present, sink);
  for (const DeviceRecord& r : now) tracker.update(r, sink);

  CHECK(sink.find(kBlock, "zram0") == nullptr);
  CHECK(sink.find(kBlock, "zram1") != nullptr);
  CHECK(sink.find(kBlock, "zram2") != nullptr);
  CHECK(sink.count(kSerial) == 1);
  CHECK(sink.find(kSerial, "A1B2C3")->healthy);
  CHECK(sink.find(kSerial, "A1B2C3")->devnode == "/dev/ttyUSB1");
  // zram0 removed, adapter marked unhealthy then back, zram2 added; zram1 untouched.
  CHECK(sink.calls.size() - before == 4);
}

}  // namespace
}  // namespace udp::udev

namespace udp::udev {
namespace {

// After every step of a random run of adds, removes and moves, the IDs are those a fresh tracker
// gives the devices present, fed in another order: they depend on the set alone.
TEST_CASE("colliding IDs: random runs agree with a fresh scan at every step") {
  std::vector<DeviceRecord> pool;
  for (int i = 0; i < 12; ++i) {
    DeviceRecord r = renumbered(usbSerialRecord(), "ttyUSB" + std::to_string(i));
    r.properties["ID_SERIAL_SHORT"] = "S" + std::to_string(i % 3);  // groups of four
    // Two of each group share an ID_PATH, so some groups fall back to devpaths.
    r.properties["ID_PATH"] = "path-" + std::to_string(i % 6);
    pool.push_back(r);
  }
  uint32_t seed = 12345;
  auto next = [&seed](uint32_t bound) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % bound;
  };
  DeviceTracker tracker({serialResource()});
  RecordingSink sink;
  std::map<std::string, DeviceRecord> present;
  for (int step = 0; step < 400; ++step) {
    const DeviceRecord& r = pool[next(pool.size())];
    if (present.contains(r.syspath) && next(2) == 0) {
      tracker.remove(r.syspath, sink);
      present.erase(r.syspath);
    } else {
      tracker.update(r, sink);
      present[r.syspath] = r;
    }
    std::vector<DeviceRecord> reversed;
    for (auto it = present.rbegin(); it != present.rend(); ++it) reversed.push_back(it->second);
    std::map<std::string, std::string> live;
    for (const auto& [id, device] : sink.devices[kSerial]) live[device.syspath] = id;
    CAPTURE(step);
    REQUIRE(live == idsAfter(reversed, serialResource()));
  }
}

}  // namespace
}  // namespace udp::udev
