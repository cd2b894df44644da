#include "udev/device_tracker.h"

#include <doctest/doctest.h>

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

TEST_CASE("colliding IDs get the kernel name appended, and stay unique") {
  DeviceTracker tracker({serialResource()});
  RecordingSink sink;
  tracker.update(usbSerialRecord(), sink);
  DeviceRecord port1 = renumbered(usbSerialRecord(), "ttyUSB1");  // same serial, 2nd port
  tracker.update(port1, sink);
  CHECK(sink.find(kSerial, "A1B2C3") != nullptr);
  CHECK(sink.find(kSerial, "A1B2C3-ttyUSB1") != nullptr);
  tracker.update(port1, sink);  // a second sighting keeps its ID
  CHECK(sink.count(kSerial) == 2);
  CHECK(sink.calls.size() == 2);

  SUBCASE("even when the suffixed ID is taken as well") {
    DeviceRecord odd = renumbered(usbSerialRecord(), "ttyUSB9");
    odd.properties["ID_SERIAL_SHORT"] = "A1B2C3-ttyUSB1";
    tracker.remove(port1.syspath, sink);
    tracker.update(odd, sink);  // takes A1B2C3-ttyUSB1 now that it is free
    tracker.update(port1, sink);
    CHECK(sink.find(kSerial, "A1B2C3-ttyUSB1") != nullptr);
    CHECK(sink.find(kSerial, "A1B2C3-ttyUSB1-2") != nullptr);
    CHECK(sink.count(kSerial) == 3);
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
  tracker.remove(usbSerialRecord().syspath, sink);  // no second report
  CHECK(sink.calls.size() == 2);

  SUBCASE("back under another kernel name: same ID, healthy, no leftover") {
    tracker.update(renumbered(usbSerialRecord(), "ttyUSB3"), sink);
    CHECK(sink.count(kSerial) == 1);
    CHECK(sink.find(kSerial, "A1B2C3")->healthy);
    CHECK(sink.find(kSerial, "A1B2C3")->devnode == "/dev/ttyUSB3");
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
  DeviceRecord sized = plainRecord("zram0");
  sized.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"size", "2048\n"}}});
  tracker.update(sized, sink);
  CHECK(sink.find(kBlock, "zram0")->healthy);
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
