// Real hotplug, as root (DESIGN.md §6): zram devices created through
// /sys/class/zram-control/hot_add send real "add" uevents, and hot_remove real "remove" ones.
// Only the zram devices this test creates are removed. Exits 77 (skipped) when not root or
// without zram.
//
// Two scenarios, one reactor each (a reactor runs once):
//   1. add, change (health follows a sysfs attribute) and remove one device, through the monitor;
//   2. a burst of adds and removes into a tiny receive buffer: the monitor overflows (ENOBUFS),
//      the source rescans, and the sink still ends up right.

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "reactor/reactor.h"
#include "recording_sink.h"
#include "script_runner.h"
#include "udev/udev_device_source.h"
#include "udev/udev_scan.h"

namespace {

using udp::udev::UdevDeviceSource;
using udp::udev::UdevSourceOptions;
using udp::udev::testing::RecordingSink;
using udp::udev::testing::ScriptRunner;

constexpr const char* kHotAdd = "/sys/class/zram-control/hot_add";
constexpr const char* kHotRemove = "/sys/class/zram-control/hot_remove";
constexpr const char* kResource = "example.com/zram";
constexpr int kExitSkip = 77;

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

// The zram devices this test created; whatever is left is removed on the way out.
class OwnZrams {
 public:
  ~OwnZrams() {
    while (!ids_.empty()) remove(ids_.back());
  }

  // Returns the new device's number, or -1.
  int add() {
    int fd = open(kHotAdd, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[32] = {};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    int id = std::atoi(buf);
    ids_.push_back(id);
    return id;
  }

  bool remove(int id) {
    std::erase(ids_, id);
    std::string text = std::to_string(id);
    // EBUSY while something still holds the device (a prober); it lets go quickly.
    for (int attempt = 0; attempt < 50; ++attempt) {
      int fd = open(kHotRemove, O_WRONLY | O_CLOEXEC);
      if (fd < 0) return false;
      ssize_t n = write(fd, text.data(), text.size());
      int err = errno;
      close(fd);
      if (n >= 0) return true;
      if (err != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::fprintf(stderr, "warning: could not remove zram%d\n", id);
    return false;
  }

 private:
  std::vector<int> ids_;
};

// Healthy once it has a size: a new zram device has none until its disksize is set.
udp::config::Config zramConfig() {
  udp::config::Resource resource;
  resource.name = kResource;
  resource.health = udp::config::HealthAttribute{"size", "[1-9]*"};
  udp::config::MatchRule rule;
  rule.subsystem = "block";
  rule.kernel = "zram*";
  // Absolute in events and, after a rescan, in what the enumeration reads from the uevent file.
  rule.properties = {{"DEVNAME", "/dev/zram*"}};
  resource.match = {rule};
  udp::config::Config config;
  config.resources = {resource};
  return config;
}

std::string suffix(int id) {
  return "/zram" + std::to_string(id);
}

bool writeFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

void singleDevice() {
  auto reactor = udp::reactor::Reactor::create();
  if (!reactor) return expect(false, reactor.error().message);
  ScriptRunner runner(**reactor);
  RecordingSink sink;
  UdevDeviceSource source(zramConfig());
  auto started = source.start(**reactor, sink);
  if (!started) return expect(false, "start: " + started.error().message);
  std::printf("source: %s\n", source.sourceName());

  OwnZrams zrams;
  int id = -1;
  std::chrono::steady_clock::time_point added, removed;
  double addMs = 0, removeMs = 0;
  std::string stuck = runner.run(
      {
          {"add",
           [&] {
             id = zrams.add();
             added = std::chrono::steady_clock::now();
           },
           [&] { return id < 0 || sink.findBySyspathSuffix(kResource, suffix(id)) != nullptr; }},
          {"change",
           [&] {
             addMs =
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - added)
                     .count();
             const udp::plugin::Device* d = sink.findBySyspathSuffix(kResource, suffix(id));
             expect(d != nullptr && d->id == "zram" + std::to_string(id), "ID is the kernel name");
             expect(d != nullptr && d->devnode == "/dev/zram" + std::to_string(id), "devnode");
             expect(d != nullptr && !d->healthy, "unhealthy while its size is 0");
             // Setting a first size sends no uevent; asking sysfs for a "change" one does, as
             // `udevadm trigger` would.
             std::string dir = "/sys/block/zram" + std::to_string(id);
             expect(writeFile(dir + "/disksize", "1M"), "set disksize");
             expect(writeFile(dir + "/uevent", "change"), "trigger a change uevent");
           },
           [&] {
             const udp::plugin::Device* d = sink.findBySyspathSuffix(kResource, suffix(id));
             return d != nullptr && d->healthy;
           }},
          {"remove",
           [&] {
             zrams.remove(id);
             removed = std::chrono::steady_clock::now();
           },
           [&] { return sink.findBySyspathSuffix(kResource, suffix(id)) == nullptr; }},
          {"stop",
           [&] {
             removeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                  removed)
                            .count();
             source.stop();
           },
           [&] { return source.idle(); }},
      },
      std::chrono::seconds(10));
  expect(id >= 0, "hot_add");
  expect(stuck.empty(), "single device: stuck at step \"" + stuck + "\"");
  // From the sysfs write returning to the sink; the reactor's 10 ms test tick bounds the error.
  std::printf("zram%d: in the sink %.2f ms after hot_add, gone %.2f ms after hot_remove\n", id,
              addMs, removeMs);
}

// Whether what the sink holds is what a fresh enumeration finds now: the same IDs per resource,
// with the same health. Events lost to ENOBUFS must leave no trace once the rescan is done.
bool matchesFreshScan(const RecordingSink& sink, const udp::config::Config& config) {
  auto scanned = udp::udev::scanOnce(config);
  if (!scanned) return false;
  std::map<std::string, std::map<std::string, bool>> fresh, held;
  for (const auto& entry : *scanned) fresh[entry.resource][entry.device.id] = entry.device.healthy;
  for (const auto& [resource, devices] : sink.devices) {
    for (const auto& [id, device] : devices) held[resource][id] = device.healthy;
  }
  std::erase_if(held, [](const auto& r) { return r.second.empty(); });
  return fresh == held;
}

void overflow() {
  auto reactor = udp::reactor::Reactor::create();
  if (!reactor) return expect(false, reactor.error().message);
  ScriptRunner runner(**reactor);
  RecordingSink sink;
  UdevSourceOptions options;
  options.receiveBufferSize = 1;  // the kernel rounds it up to its minimum, a few messages
  UdevDeviceSource source(zramConfig(), options);
  auto started = source.start(**reactor, sink);
  if (!started) return expect(false, "start: " + started.error().message);

  OwnZrams zrams;
  std::vector<int> ids;
  constexpr int kBurst = 16;
  auto allPresent = [&] {
    for (int id : ids) {
      if (sink.findBySyspathSuffix(kResource, suffix(id)) == nullptr) return false;
    }
    return true;
  };
  auto nonePresent = [&] {
    for (int id : ids) {
      if (sink.findBySyspathSuffix(kResource, suffix(id)) != nullptr) return false;
    }
    return true;
  };
  // The acts run inside a reactor turn, so the monitor is not read while they send a burst.
  std::string stuck = runner.run(
      {
          {"burst of adds",
           [&] {
             for (int i = 0; i < kBurst; ++i) {
               int id = zrams.add();
               if (id >= 0) ids.push_back(id);
             }
           },
           allPresent},
          {"the same as a fresh scan after the adds", [] {},
           [&] { return matchesFreshScan(sink, zramConfig()); }},
          {"burst of removes",
           [&] {
             for (int id : ids) zrams.remove(id);
           },
           nonePresent},
          {"the same as a fresh scan after the removes", [] {},
           [&] { return matchesFreshScan(sink, zramConfig()); }},
          {"stop", [&] { source.stop(); }, [&] { return source.idle(); }},
      },
      std::chrono::seconds(20));
  expect(ids.size() == kBurst, "hot_add burst");
  expect(stuck.empty(), "overflow: stuck at step \"" + stuck + "\"");
  expect(source.rescans() >= 1, "the burst overflowed the monitor and caused a rescan");
  expect(source.failure() == 0, "source failure " + std::to_string(source.failure()));
  std::printf("burst of %d adds and removes: %llu rescan(s) after ENOBUFS\n", kBurst,
              static_cast<unsigned long long>(source.rescans()));
}

}  // namespace

int main() {
  if (geteuid() != 0 || access(kHotAdd, R_OK) != 0) {
    std::printf("skipped: needs root and /sys/class/zram-control\n");
    return kExitSkip;
  }
  if (auto probe = udp::reactor::Reactor::create(); !probe) {
    std::printf("skipped: %s\n", probe.error().message.c_str());
    return kExitSkip;
  }
  singleDevice();
  overflow();
  if (failures == 0) std::printf("ok\n");
  return failures == 0 ? 0 : 1;
}
