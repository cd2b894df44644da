// The udev edge against libudev's real enumeration and monitor code, on umockdev testbeds (fake
// sysfs and uevents). Must run under umockdev-wrapper, which preloads the fakes; skipped (77)
// otherwise.

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <umockdev.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "reactor/reactor.h"
#include "recording_sink.h"
#include "script_runner.h"
#include "udev/udev_device_source.h"
#include "udev/udev_scan.h"
#include "util/unique_fd.h"

namespace udp::udev {
namespace {

using testing::RecordingSink;
using testing::ScriptRunner;
using Pairs = std::initializer_list<std::pair<const char*, const char*>>;

// One testbed per test case: a USB serial adapter (FTDI 0403:6001, serial A1B2C3) behind a PCI
// xHCI controller on NUMA node 1, laid out as the kernel does:
//   pci 0000:00:14.0 → usb 1-1 → usb 1-1:1.0 → usb-serial ttyUSB0 → tty ttyUSB0
class Testbed {
 public:
  Testbed() : bed_(umockdev_testbed_new()) {
    pci_ = add("pci", "pci0000:00/0000:00:14.0", "", {{"vendor", "0x8086"}, {"numa_node", "1"}},
               {{"PCI_SLOT_NAME", "0000:00:14.0"}});
    driver(pci_, "pci", "xhci_hcd");
    usb_ = add("usb", "usb1/1-1", pci_,
               {{"idVendor", "0403"}, {"idProduct", "6001"}, {"serial", "A1B2C3"}},
               {{"DEVTYPE", "usb_device"}, {"ID_VENDOR_ID", "0403"}, {"ID_MODEL_ID", "6001"}});
    interface_ =
        add("usb", "1-1:1.0", usb_, {{"bInterfaceNumber", "00"}}, {{"DEVTYPE", "usb_interface"}});
    driver(interface_, "usb", "ftdi_sio");
    tty_ = plugTty("ttyUSB0", "A1B2C3");
  }
  ~Testbed() { g_object_unref(bed_); }
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  // The usb-serial port and its tty, as the kernel numbers them; returns the tty's syspath.
  // umockdev sends the "add" uevents itself.
  std::string plugTty(const std::string& name, const char* serial) {
    port_ = add("usb-serial", name, interface_, {{"port_number", "0"}}, {});
    driver(port_, "usb-serial", "ftdi_sio");
    std::string links = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_" + std::string(serial) +
                        "-if00-port0 /dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0";
    return add("tty", "tty/" + name, port_, {{"dev", "188:0"}, {"close_delay", "50"}},
               {{"DEVNAME", ("/dev/" + name).c_str()},
                {"ID_VENDOR_ID", "0403"},
                {"ID_MODEL_ID", "6001"},
                {"ID_SERIAL", (std::string("FTDI_FT232R_USB_UART_") + serial).c_str()},
                {"ID_SERIAL_SHORT", serial},
                {"ID_PATH", "pci-0000:00:14.0-usb-0:1:1.0"},
                {"DEVLINKS", links.c_str()}});
  }
  void unplugTty() {
    umockdev_testbed_remove_device(bed_, tty_.c_str());
    umockdev_testbed_remove_device(bed_, port_.c_str());
  }

  // What the kernel does on a rename: the sysfs directory moves, then a "move" uevent carries
  // DEVPATH_OLD. umockdev has no call for it (adding a device sends "add"), so the directory is
  // renamed inside the testbed. Returns the new syspath.
  std::string renameTty(const std::string& name) {
    gchar* root = umockdev_testbed_get_root_dir(bed_);
    std::string oldPath = tty_;
    std::string newPath = oldPath.substr(0, oldPath.rfind('/') + 1) + name;
    int rc = std::rename((root + oldPath).c_str(), (root + newPath).c_str());
    g_free(root);
    REQUIRE(rc == 0);
    tty_ = newPath;
    setProperty(tty_, "DEVNAME", ("/dev/" + name).c_str());
    setProperty(tty_, "DEVPATH_OLD", oldPath.substr(std::string("/sys").size()).c_str());
    uevent(tty_, "move");
    return tty_;
  }

  void uevent(const std::string& syspath, const char* action) {
    umockdev_testbed_uevent(bed_, syspath.c_str(), action);
  }
  void setAttribute(const std::string& syspath, const char* name, const char* value) {
    umockdev_testbed_set_attribute(bed_, syspath.c_str(), name, value);
  }
  void setProperty(const std::string& syspath, const char* name, const char* value) {
    umockdev_testbed_set_property(bed_, syspath.c_str(), name, value);
  }

  std::string tty_;
  std::string port_;
  std::string pci_;
  std::string usb_;
  std::string interface_;

 private:
  std::string add(const char* subsystem, const std::string& name, const std::string& parent,
                  Pairs attributes, Pairs properties) {
    std::vector<std::string> a;
    std::vector<std::string> p;
    for (auto [k, v] : attributes) a.insert(a.end(), {k, v});
    for (auto [k, v] : properties) p.insert(p.end(), {k, v});
    std::vector<gchar*> av;
    std::vector<gchar*> pv;
    for (std::string& s : a) av.push_back(s.data());
    for (std::string& s : p) pv.push_back(s.data());
    av.push_back(nullptr);
    pv.push_back(nullptr);
    gchar* path = umockdev_testbed_add_devicev(bed_, subsystem, name.c_str(),
                                               parent.empty() ? nullptr : parent.c_str(), av.data(),
                                               pv.data());
    std::string out = path != nullptr ? path : "";
    g_free(path);
    return out;
  }
  // sysfs names a device's driver by the `driver` link; libudev reads the link's last component.
  void driver(const std::string& syspath, const char* bus, const char* name) {
    std::string target = "/sys/bus/" + std::string(bus) + "/drivers/" + name;
    umockdev_testbed_set_attribute_link(bed_, syspath.c_str(), "driver", target.c_str());
  }

  UMockdevTestbed* bed_;
};

config::Resource resource(const std::string& name, config::MatchRule rule) {
  config::Resource r;
  r.name = "example.com/" + name;
  r.match = {std::move(rule)};
  // These tests run one device past many resources at once to see which rules match it.
  r.shareDevicesWithEarlierResources = true;
  return r;
}

config::MatchRule ttyRule() {
  config::MatchRule rule;
  rule.subsystem = "tty";
  return rule;
}

std::map<std::string, std::vector<plugin::Device>> scanByResource(const config::Config& config) {
  Result<std::vector<ScannedDevice>> scanned = scanOnce(config);
  REQUIRE(scanned.ok());
  std::map<std::string, std::vector<plugin::Device>> out;
  for (ScannedDevice& s : *scanned) out[s.resource].push_back(std::move(s.device));
  return out;
}

// Both ways of reading an enumerated device: with udev's properties (udevSource: udev) and with
// the uevent file's only (kernel). umockdev keeps properties in the uevent file, so both see them.
TEST_CASE("every match key, through libudev's enumeration") {
  config::UdevSource choice = config::UdevSource::kUdev;
  SUBCASE("udev") {
    choice = config::UdevSource::kUdev;
  }
  SUBCASE("kernel") {
    choice = config::UdevSource::kKernel;
  }
  Testbed bed;
  config::Config config;
  config.udevSource = choice;
  auto both = [&](const std::string& key, auto setYes, auto setNo) {
    config::MatchRule yes = ttyRule();
    config::MatchRule no = ttyRule();
    setYes(yes);
    setNo(no);
    config.resources.push_back(resource(key + "-yes", yes));
    config.resources.push_back(resource(key + "-no", no));
  };
  using R = config::MatchRule&;
  both(
      "subsystem", [](R) {}, [](R r) { r.subsystem = "usb-serial"; });
  both(
      "kernel", [](R r) { r.kernel = "ttyUSB*"; }, [](R r) { r.kernel = "ttyACM*"; });
  both(
      "devnode", [](R r) { r.devnode = "/dev/ttyUSB?"; }, [](R r) { r.devnode = "/dev/ttyS*"; });
  // The nearest driver is the usb-serial port's; the PCI controller's is farther up.
  both(
      "driver", [](R r) { r.driver = "ftdi_*"; }, [](R r) { r.driver = "xhci_hcd"; });
  both(
      "properties",
      [](R r) {
        r.properties = {{"ID_VENDOR_ID", "0403"}};
      },
      [](R r) {
        r.properties = {{"ID_VENDOR_ID", "0404"}};
      });
  both(
      "attributes",
      [](R r) {
        r.attributes = {{"close_delay", "5*"}};
      },
      [](R r) {
        r.attributes = {{"idVendor", "0403"}};
      });  // a parent's, not the tty's
  both(
      "parents",
      [](R r) {
        r.parentAttributes = {{"idVendor", "0403"}, {"idProduct", "6001"}};
      },
      [](R r) {
        r.parentAttributes = {{"idVendor", "0403"}, {"idProduct", "6015"}};
      });
  config::MatchRule usbDevice;
  usbDevice.subsystem = "usb";
  usbDevice.devtype = "usb_device";
  config.resources.push_back(resource("devtype-yes", usbDevice));
  usbDevice.devtype = "usb_hub";
  config.resources.push_back(resource("devtype-no", usbDevice));
  config::MatchRule pci;
  pci.attributes = {{"vendor", "0x8086"}};  // no subsystem: the enumeration lists everything
  config.resources.push_back(resource("pci", pci));

  auto found = scanByResource(config);
  for (const char* key :
       {"subsystem", "kernel", "devnode", "driver", "properties", "attributes", "parents"}) {
    std::string keyName = key;
    CAPTURE(keyName);
    REQUIRE(found["example.com/" + std::string(key) + "-yes"].size() == 1);
    const plugin::Device& tty = found["example.com/" + std::string(key) + "-yes"][0];
    CHECK(tty.id == "A1B2C3");
    CHECK(tty.syspath == bed.tty_);
    for (const plugin::Device& other : found["example.com/" + std::string(key) + "-no"]) {
      CHECK(other.syspath != bed.tty_);  // other devices may match, the tty must not
    }
  }
  REQUIRE(found["example.com/devtype-yes"].size() == 1);
  CHECK(found["example.com/devtype-yes"][0].syspath == bed.usb_);
  CHECK(found.count("example.com/devtype-no") == 0);
  REQUIRE(found["example.com/pci"].size() == 1);
  CHECK(found["example.com/pci"][0].id == "0000_00_14.0");  // kernel name, sanitized
  CHECK(found["example.com/pci"][0].numaNode == 1);
}

TEST_CASE("the advertised device, as libudev describes it") {
  config::UdevSource choice = config::UdevSource::kUdev;
  SUBCASE("udev") {
    choice = config::UdevSource::kUdev;
  }
  SUBCASE("kernel") {
    choice = config::UdevSource::kKernel;
  }
  Testbed bed;
  config::Config config;
  config.udevSource = choice;
  config::Resource serial = resource("serial", ttyRule());
  serial.shares = 2;
  config.resources.push_back(serial);
  config::Resource healthy = resource("healthy", ttyRule());
  healthy.health = config::HealthAttribute{"close_delay", "50"};
  config.resources.push_back(healthy);
  config::Resource sick = resource("sick", ttyRule());
  sick.health = config::HealthAttribute{"close_delay", "0"};
  config.resources.push_back(sick);

  auto found = scanByResource(config);
  REQUIRE(found["example.com/serial"].size() == 2);
  const plugin::Device& d = found["example.com/serial"][0];
  CHECK(d.id == "A1B2C3-0");
  CHECK(found["example.com/serial"][1].id == "A1B2C3-1");
  CHECK(d.devnode == "/dev/ttyUSB0");
  CHECK(d.serial == "A1B2C3");
  CHECK(d.numaNode == 1);  // from the PCI controller, four levels up
  CHECK(d.healthy);
  CHECK(d.links ==
        std::vector<std::string>{"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0",
                                 "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0"});
  REQUIRE(found["example.com/healthy"].size() == 1);
  CHECK(found["example.com/healthy"][0].healthy);
  REQUIRE(found["example.com/sick"].size() == 1);
  CHECK_FALSE(found["example.com/sick"][0].healthy);
}

TEST_CASE("IDs do not change when the kernel renumbers the device") {
  Testbed bed;
  config::Config config;
  config.resources.push_back(resource("serial", ttyRule()));
  auto before = scanByResource(config)["example.com/serial"];
  REQUIRE(before.size() == 1);
  CHECK(before[0].devnode == "/dev/ttyUSB0");

  bed.unplugTty();
  bed.tty_ = bed.plugTty("ttyUSB1", "A1B2C3");
  auto after = scanByResource(config)["example.com/serial"];
  REQUIRE(after.size() == 1);
  CHECK(after[0].devnode == "/dev/ttyUSB1");
  CHECK(after[0].id == before[0].id);
}

struct LiveCase {
  config::UdevSource source;
  const char* expectedName;
};

TEST_CASE("the source follows uevents") {
  for (LiveCase live :
       {LiveCase{config::UdevSource::kUdev, "udev"}, LiveCase{config::UdevSource::kAuto, "kernel"},
        LiveCase{config::UdevSource::kKernel, "kernel"}}) {
    std::string sourceName = live.expectedName;
    CAPTURE(sourceName);
    Testbed bed;
    config::Config config;
    config.udevSource = live.source;
    config::Resource serial = resource("serial", ttyRule());
    serial.health = config::HealthAttribute{"close_delay", "50"};
    config.resources.push_back(serial);
    const std::string name = "example.com/serial";

    auto reactor = reactor::Reactor::create();
    REQUIRE(reactor.ok());
    ScriptRunner runner(**reactor);
    RecordingSink sink;
    UdevSourceOptions options;
    options.controlSocket = "/nonexistent/udev/control";  // auto: no udevd here
    UdevDeviceSource source(config, options);
    REQUIRE(source.start(**reactor, sink).ok());
    CHECK(std::string(source.sourceName()) == live.expectedName);
    REQUIRE(sink.find(name, "A1B2C3") != nullptr);
    CHECK(sink.calls.size() == 1);

    size_t calls = 0;
    std::string failedStep = runner.run(
        {
            {"a repeated add and an empty change are no news; a health change is",
             [&] {
               bed.uevent(bed.tty_, "add");
               bed.uevent(bed.tty_, "change");
               bed.setAttribute(bed.tty_, "close_delay", "0");
               bed.uevent(bed.tty_, "change");
             },
             [&] { return sink.calls.size() >= 2; }},
            {"remove",
             [&] {
               CHECK(sink.calls.size() == 2);
               CHECK_FALSE(sink.find(name, "A1B2C3")->healthy);
               bed.uevent(bed.tty_, "remove");
               bed.unplugTty();
             },
             [&] { return sink.count(name) == 0; }},
            {"plugged back as ttyUSB1: the same ID",
             [&] { bed.tty_ = bed.plugTty("ttyUSB1", "A1B2C3"); },
             [&] { return sink.find(name, "A1B2C3") != nullptr; }},
            {"move to ttyUSB2: the entry follows",
             [&] {
               CHECK(sink.find(name, "A1B2C3")->devnode == "/dev/ttyUSB1");
               CHECK(sink.find(name, "A1B2C3")->healthy);
               calls = sink.calls.size();
               bed.renameTty("ttyUSB2");
             },
             [&] { return sink.calls.size() > calls; }},
            {"stop", [&] { source.stop(); }, [&] { return source.idle(); }},
        },
        std::chrono::seconds(5));
    CHECK(failedStep == "");
    CHECK(sink.calls.size() == calls + 1);  // one upsert, nothing removed
    REQUIRE(sink.count(name) == 1);
    CHECK(sink.find(name, "A1B2C3")->devnode == "/dev/ttyUSB2");
    CHECK(sink.find(name, "A1B2C3")->syspath == bed.tty_);
    CHECK(source.tracker().devices(name).size() == 1);
    CHECK(source.rescans() == 0);
    CHECK(source.failure() == 0);
  }
}

// udevd's control socket as the source sees it: answers while listening; closed, it leaves the
// file behind as a dead udevd does.
class FakeUdevd {
 public:
  FakeUdevd() {
    char tmpl[] = "/tmp/fake-udevd-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
  }
  ~FakeUdevd() {
    fd_ = UniqueFd();
    unlink(path().c_str());
    rmdir(dir_.c_str());
  }
  FakeUdevd(const FakeUdevd&) = delete;
  FakeUdevd& operator=(const FakeUdevd&) = delete;

  std::string path() const { return dir_ + "/control"; }
  void answer() {
    unlink(path().c_str());
    fd_ = UniqueFd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    REQUIRE(fd_.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path().c_str());
    REQUIRE(bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd_.get(), 64) == 0);
  }
  void die() { fd_ = UniqueFd(); }

 private:
  std::string dir_;
  UniqueFd fd_;
};

// umockdev hands each uevent to every monitor, kernel or udev, so both of the source's see it.
TEST_CASE("udevd going away and coming back: the source changes monitors, with a rescan each") {
  config::UdevSource choice = config::UdevSource::kAuto;
  SUBCASE("auto") {
    choice = config::UdevSource::kAuto;
  }
  SUBCASE("udev") {
    choice = config::UdevSource::kUdev;
  }
  Testbed bed;
  FakeUdevd udevd;
  udevd.answer();
  config::Config config;
  config.udevSource = choice;
  config::Resource serial = resource("serial", ttyRule());
  serial.health = config::HealthAttribute{"close_delay", "50"};
  config.resources.push_back(serial);
  const std::string name = "example.com/serial";

  auto reactor = reactor::Reactor::create();
  REQUIRE(reactor.ok());
  ScriptRunner runner(**reactor);
  RecordingSink sink;
  UdevSourceOptions options;
  options.controlSocket = udevd.path();
  UdevDeviceSource source(config, options);
  REQUIRE(source.start(**reactor, sink).ok());
  CHECK(std::string(source.sourceName()) == "udev");
  REQUIRE(sink.find(name, "A1B2C3") != nullptr);

  size_t sent = 0;
  auto uevent = [&](const char* action) {
    bed.uevent(bed.tty_, action);
    ++sent;
  };
  std::string failedStep = runner.run(
      {
          {"udevd answers: no change",
           [&] {
             bed.setAttribute(bed.tty_, "close_delay", "0");
             uevent("change");
           },
           [&] { return !sink.find(name, "A1B2C3")->healthy; }},
          {"udevd dies: kernel uevents, after a rescan",
           [&] {
             CHECK(source.rescans() == 0);
             udevd.die();
             bed.setAttribute(bed.tty_, "close_delay", "50");
             uevent("change");
           },
           [&] { return source.rescans() == 1 && sink.find(name, "A1B2C3")->healthy; }},
          {"followed on kernel uevents",
           [&] {
             CHECK(std::string(source.sourceName()) == "kernel");
             CHECK(source.eventSource() == "kernel");
             CHECK(source.summary() == "kernel uevents (no udevd answering)");
             bed.setAttribute(bed.tty_, "close_delay", "0");
             uevent("change");
           },
           [&] { return !sink.find(name, "A1B2C3")->healthy; }},
          {"udevd answers again: udev events, after a rescan",
           [&] {
             CHECK(source.rescans() == 1);
             udevd.answer();
             bed.setAttribute(bed.tty_, "close_delay", "50");
             uevent("change");
           },
           [&] { return source.rescans() == 2 && sink.find(name, "A1B2C3")->healthy; }},
          {"followed on udev events",
           [&] {
             CHECK(std::string(source.sourceName()) == "udev");
             CHECK(source.eventSource() == "udev");
             bed.uevent(bed.tty_, "remove");
             ++sent;
             bed.unplugTty();
           },
           [&] { return sink.count(name) == 0; }},
          {"stop", [&] { source.stop(); }, [&] { return source.idle(); }},
      },
      std::chrono::seconds(5));
  CHECK(failedStep == "");
  CHECK(source.rescans() == 2);
  CHECK(sink.rescans == 2);
  // Each uevent reaches both monitors; only the one followed counts it, and a uevent a switch's
  // rescan supersedes counts not at all.
  CHECK(sink.uevents <= sent);
  CHECK(sink.uevents >= 2);
  CHECK(source.failure() == 0);
}

TEST_CASE("udevSource: kernel never asks udevd, and udev that never answered stays on udev") {
  for (config::UdevSource choice : {config::UdevSource::kKernel, config::UdevSource::kUdev}) {
    CAPTURE(static_cast<int>(choice));
    Testbed bed;
    FakeUdevd udevd;
    // Answering for kernel (which must not care); never for udev.
    if (choice == config::UdevSource::kKernel) udevd.answer();
    config::Config config;
    config.udevSource = choice;
    config.resources.push_back(resource("serial", ttyRule()));
    const std::string name = "example.com/serial";
    auto reactor = reactor::Reactor::create();
    REQUIRE(reactor.ok());
    ScriptRunner runner(**reactor);
    RecordingSink sink;
    UdevSourceOptions options;
    options.controlSocket = udevd.path();
    UdevDeviceSource source(config, options);
    REQUIRE(source.start(**reactor, sink).ok());
    const std::string expected = choice == config::UdevSource::kKernel ? "kernel" : "udev";
    CHECK(source.sourceName() == expected);
    std::string failedStep = runner.run(
        {
            {"remove",
             [&] {
               bed.uevent(bed.tty_, "remove");
               bed.unplugTty();
             },
             [&] { return sink.count(name) == 0; }},
            {"stop", [&] { source.stop(); }, [&] { return source.idle(); }},
        },
        std::chrono::seconds(5));
    CHECK(failedStep == "");
    CHECK(source.sourceName() == expected);
    CHECK(source.rescans() == 0);
  }
}

}  // namespace
}  // namespace udp::udev
