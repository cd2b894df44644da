// Real hotplug, end to end: kernel uevents from zram and loop devices this test creates, through
// the real plugin binary, to the grpc++ kubelet simulator. Each case runs once with the kernel's
// uevents (no udevd) and once with a systemd-udevd started here, and one stops and restarts that
// udevd under the running plugin. Needs root and zram; without them the whole binary exits 77,
// which meson reports as SKIP.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host_devices.h"
#include "kubelet_sim.h"
#include "plugin_process.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;
using udp::testing::kUdevControl;
using udp::testing::kZramControl;
using udp::testing::LoopDevice;
using udp::testing::NotedPid;
using udp::testing::NotedTempDir;
using udp::testing::percentile;
using udp::testing::PluginProcess;
using udp::testing::readFile;
using udp::testing::TempDir;
using udp::testing::Udevd;
using udp::testing::udevdAnswers;
using udp::testing::ZramDevice;

namespace {

constexpr const char* kZram = "example.com/zram";
constexpr const char* kZramKept = "example.com/zram-kept";
constexpr const char* kLoop = "example.com/loop";
constexpr auto kWait = 5s;
constexpr int kZramIterations = 60;
constexpr int kLoopIterations = 10;

// ---------------------------------------------------------------------------------------------
// Device lists.

using Devices = std::vector<v1beta1::Device>;
using Predicate = std::function<bool(const Devices&)>;

const v1beta1::Device* findDevice(const Devices& devices, const std::string& id) {
  for (const auto& d : devices) {
    if (d.id() == id) return &d;
  }
  return nullptr;
}

Predicate contains(std::string id, std::string health = "") {
  return [id = std::move(id), health = std::move(health)](const Devices& devices) {
    const v1beta1::Device* d = findDevice(devices, id);
    return d != nullptr && (health.empty() || d->health() == health);
  };
}

Predicate lacks(std::string id) {
  return [id = std::move(id)](const Devices& devices) { return !findDevice(devices, id); };
}

// The arrival time of the first update at or after `since` that satisfies pred. waitForDevices
// alone could answer with an update older than `since`, or a later one than the first.
std::optional<Clock::time_point> firstUpdateSince(KubeletSim& sim, const std::string& resource,
                                                  Clock::time_point since, const Predicate& pred) {
  auto deadline = Clock::now() + kWait;
  if (!sim.waitForDevices(resource, pred, kWait)) return std::nullopt;
  for (;;) {
    for (const auto& update : sim.updates(resource)) {
      if (update.at >= since && pred(update.devices)) return update.at;
    }
    if (Clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

double millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Latencies {
  std::vector<double> ms;
  void add(Clock::time_point from, Clock::time_point to) { ms.push_back(millis(to - from)); }
};

void report(const std::string& what, const Latencies& latencies) {
  if (latencies.ms.empty()) return;
  char line[256];
  std::snprintf(line, sizeof line, "%-44s n=%-3zu p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms",
                what.c_str(), latencies.ms.size(), percentile(latencies.ms, 0.5),
                percentile(latencies.ms, 0.99),
                *std::max_element(latencies.ms.begin(), latencies.ms.end()));
  MESSAGE(line);
  std::printf("%s\n", line);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// The plugin, the simulator and (for the udev source) udevd.

enum class Source { kKernel, kUdev };

std::string sourceName(Source source) {
  return source == Source::kKernel ? "kernel" : "udev";
}

std::string configText(const char* udevSource) {
  return std::string("udevSource: ") + udevSource + R"(
resources:
  - name: example.com/zram
    match: [{subsystem: block, kernel: "zram*"}]
    onRemove: drop
  - name: example.com/zram-kept
    match: [{subsystem: block, kernel: "zram*"}]
    onRemove: unhealthy
    shareDevicesWithEarlierResources: true  # the same zram devices as example.com/zram
  - name: example.com/loop
    match: [{subsystem: block, kernel: "loop[0-9]*", devtype: disk}]
    onRemove: drop
    health:
      attribute: {name: size, healthy: "[1-9]*"}
)";
}

bool waitForLog(const std::string& path, const std::string& needle) {
  for (auto deadline = Clock::now() + kWait; Clock::now() < deadline;) {
    if (readFile(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

std::unique_ptr<PluginProcess> startPlugin(const std::vector<std::string>& args,
                                           const std::string& logPath) {
  return std::make_unique<PluginProcess>(udp::testing::binaryFromEnv("UDEV_DEVICE_PLUGIN"), args,
                                         logPath);
}

// Declared so that the plugin goes first, then the simulator, udevd and the TempDir.
struct Rig {
  Source source;
  TempDir tmp;
  NotedTempDir tmpNote{tmp.path()};
  std::string dir = tmp.file("device-plugins");
  std::string pluginLog = tmp.file("plugin.log");
  std::unique_ptr<Udevd> udevd;
  std::unique_ptr<KubeletSim> sim;
  std::unique_ptr<PluginProcess> plugin;
  NotedPid pluginNote;

  explicit Rig(Source s) : source(s) {
    const char* udevSource = "auto";
    if (source == Source::kUdev) {
      udevd = std::make_unique<Udevd>(tmp.file("udevd.log"));
      REQUIRE_MESSAGE(udevd->ready(), "systemd-udevd did not answer on " << kUdevControl << ":\n"
                                                                         << udevdLog());
    } else if (udevdAnswers()) {
      // Someone else's udevd: auto would pick it, so ask for the kernel's uevents by name.
      MESSAGE("a udevd answers on " << kUdevControl << "; forcing udevSource: kernel");
      udevSource = "kernel";
    }
    tmp.write("config.yaml", configText(udevSource));
    mkdir(dir.c_str(), 0755);
    SimOptions options;
    options.dir = dir;
    sim = std::make_unique<KubeletSim>(options);
    REQUIRE(sim->start());
    plugin = startPlugin(
        {"run", "--config", tmp.file("config.yaml"), "--kubelet-dir", dir, "--log-level", "debug"},
        pluginLog);
    pluginNote.note(plugin->pid());
    for (const char* resource : {kZram, kZramKept, kLoop}) {
      REQUIRE_MESSAGE(sim->waitForRegistrations(resource, 1, kWait), log());
    }
    const char* expected =
        source == Source::kKernel ? "devices from kernel uevents" : "devices from udev events";
    REQUIRE_MESSAGE(waitForLog(pluginLog, expected), log());
  }

  std::string log() const { return "plugin log:\n" + readFile(pluginLog); }
  std::string udevdLog() const { return readFile(tmp.file("udevd.log")); }

  // SIGTERM; a clean stop exits 0.
  int stop() {
    int status = plugin->terminate();
    if (!plugin->running()) pluginNote.clear();
    return status;
  }
};

// ---------------------------------------------------------------------------------------------
// The cases, each run with both sources.

void zramAddRemove(Source source) {
  Rig rig(source);
  Latencies added, removed;
  int busyRetries = 0;
  for (int i = 0; i < kZramIterations; ++i) {
    ZramDevice zram;
    CAPTURE(zram.name());
    auto addedAt = firstUpdateSince(*rig.sim, kZram, zram.requestedAt(), contains(zram.name()));
    REQUIRE_MESSAGE(addedAt, "no update with " << zram.name() << "\n" << rig.log());
    added.add(zram.requestedAt(), *addedAt);

    std::string name = zram.name();
    Clock::time_point writtenAt;
    REQUIRE_MESSAGE(zram.remove(&writtenAt, &busyRetries),
                    "hot_remove " << name << ": " << std::strerror(errno));
    auto removedAt = firstUpdateSince(*rig.sim, kZram, writtenAt, lacks(name));
    REQUIRE_MESSAGE(removedAt, "no update without " << name << "\n" << rig.log());
    removed.add(writtenAt, *removedAt);
  }
  std::string prefix = "[" + sourceName(source) + "] zram ";
  report(prefix + "hot_add -> ListAndWatch", added);
  report(prefix + "hot_remove -> ListAndWatch", removed);
  if (busyRetries > 0) MESSAGE("hot_remove answered EBUSY " << busyRetries << " times");
  CHECK(rig.stop() == 0);
}

void zramKeptUnhealthy(Source source) {
  Rig rig(source);
  std::optional<ZramDevice> zram;
  zram.emplace();
  std::string name = zram->name();
  CAPTURE(name);
  REQUIRE_MESSAGE(
      firstUpdateSince(*rig.sim, kZramKept, zram->requestedAt(), contains(name, "Healthy")),
      rig.log());
  Clock::time_point writtenAt;
  REQUIRE(zram->remove(&writtenAt, nullptr));
  auto unhealthyAt = firstUpdateSince(*rig.sim, kZramKept, writtenAt, contains(name, "Unhealthy"));
  REQUIRE_MESSAGE(unhealthyAt, "no update with " << name << " Unhealthy\n" << rig.log());
  // The same removal drops it from the resource with onRemove: drop.
  CHECK(firstUpdateSince(*rig.sim, kZram, writtenAt, lacks(name)));
  // Still there, still Unhealthy, in the latest list: it is kept, not just reported once.
  std::this_thread::sleep_for(50ms);
  auto updates = rig.sim->updates(kZramKept);
  REQUIRE(!updates.empty());
  CHECK(contains(name, "Unhealthy")(updates.back().devices));
  Latencies kept;
  kept.add(writtenAt, *unhealthyAt);
  report("[" + sourceName(source) + "] zram hot_remove -> kept Unhealthy", kept);
  zram.reset();

  // hot_add hands out the lowest free number, so the same device usually comes back: it must
  // turn Healthy again under the same ID, not be listed twice.
  zram.emplace();
  if (zram->name() == name) {
    auto back =
        firstUpdateSince(*rig.sim, kZramKept, zram->requestedAt(), contains(name, "Healthy"));
    REQUIRE_MESSAGE(back, rig.log());
    auto latest = rig.sim->updates(kZramKept).back().devices;
    CHECK(std::count_if(latest.begin(), latest.end(),
                        [&](const auto& d) { return d.id() == name; }) == 1);
  }
  zram.reset();
  CHECK(rig.stop() == 0);
}

void loopAttachDetach(Source source) {
  Rig rig(source);
  std::string backing = rig.tmp.file("loop.img");
  std::ofstream(backing).close();
  REQUIRE(truncate(backing.c_str(), 4 << 20) == 0);
  Latencies attached, detached, attachRuns, detachRuns;
  for (int i = 0; i < kLoopIterations; ++i) {
    LoopDevice loop(backing);
    CAPTURE(loop.name());
    auto healthyAt =
        firstUpdateSince(*rig.sim, kLoop, loop.requestedAt(), contains(loop.name(), "Healthy"));
    REQUIRE_MESSAGE(healthyAt, "no update with " << loop.name() << " Healthy\n" << rig.log());
    attached.add(loop.requestedAt(), *healthyAt);
    attachRuns.add(loop.requestedAt(), loop.returnedAt());

    std::string name = loop.name();
    Clock::time_point requestedAt, returnedAt;
    REQUIRE(loop.detach(&requestedAt, &returnedAt));
    auto unhealthyAt = firstUpdateSince(*rig.sim, kLoop, requestedAt, contains(name, "Unhealthy"));
    REQUIRE_MESSAGE(unhealthyAt, "no update with " << name << " Unhealthy\n" << rig.log());
    detached.add(requestedAt, *unhealthyAt);
    detachRuns.add(requestedAt, returnedAt);
  }
  // Both include the fork and exec of losetup, whose own run time is reported beside them.
  std::string prefix = "[" + sourceName(source) + "] loop ";
  report(prefix + "losetup --find -> Healthy", attached);
  report(prefix + "losetup -d -> Unhealthy", detached);
  report(prefix + "(losetup --find itself)", attachRuns);
  report(prefix + "(losetup -d itself)", detachRuns);
  CHECK(rig.stop() == 0);
}

void allocateHotAdded(Source source) {
  Rig rig(source);
  ZramDevice zram;
  std::string name = zram.name();
  CAPTURE(name);
  REQUIRE_MESSAGE(firstUpdateSince(*rig.sim, kZram, zram.requestedAt(), contains(name, "Healthy")),
                  rig.log());
  v1beta1::AllocateResponse response;
  grpc::Status status = rig.sim->allocate(kZram, {name}, &response);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  REQUIRE(response.container_responses_size() == 1);
  const auto& container = response.container_responses(0);
  REQUIRE(container.devices_size() == 1);
  CHECK(container.devices(0).host_path() == "/dev/" + name);
  CHECK(container.devices(0).container_path() == "/dev/" + name);
  CHECK(container.devices(0).permissions() == "rw");

  // Once it is gone it cannot be allocated any more.
  Clock::time_point writtenAt;
  REQUIRE(zram.remove(&writtenAt, nullptr));
  REQUIRE(firstUpdateSince(*rig.sim, kZram, writtenAt, lacks(name)));
  status = rig.sim->allocate(kZram, {name}, &response);
  CHECK_FALSE(status.ok());
  CHECK(rig.stop() == 0);
}

// udevd stops under a running plugin (auto): the plugin must fall back to the kernel's uevents
// rather than go deaf, and go back to udev events once udevd answers again.
void udevdStopsAndComesBack() {
  Rig rig(Source::kUdev);
  if (!rig.udevd->ours()) {
    MESSAGE("someone else's udevd answers: not ours to stop; skipped");
    return;
  }
  ZramDevice before;
  REQUIRE_MESSAGE(firstUpdateSince(*rig.sim, kZram, before.requestedAt(), contains(before.name())),
                  rig.log());

  REQUIRE(rig.udevd->terminate());
  REQUIRE_FALSE(udevdAnswers());
  std::string control = std::string(kUdevControl) +
                        (std::filesystem::exists(kUdevControl) ? " left behind" : " gone");
  MESSAGE("udevd stopped; " << control);
  ZramDevice during;
  std::string name = during.name();
  CAPTURE(name);
  auto seenAt =
      firstUpdateSince(*rig.sim, kZram, during.requestedAt(), contains(during.name(), "Healthy"));
  REQUIRE_MESSAGE(seenAt, "no update with " << during.name() << " after udevd stopped\n"
                                            << rig.log());
  Latencies fallback;
  fallback.add(during.requestedAt(), *seenAt);
  report("[udev -> kernel] zram hot_add -> ListAndWatch", fallback);
  CHECK_MESSAGE(waitForLog(rig.pluginLog, "udevd stopped answering; following kernel uevents"),
                rig.log());
  // Followed for good, not only found by the switch's rescan.
  Clock::time_point writtenAt;
  REQUIRE(during.remove(&writtenAt, nullptr));
  REQUIRE_MESSAGE(firstUpdateSince(*rig.sim, kZram, writtenAt, lacks(name)), rig.log());
  ZramDevice after;
  REQUIRE_MESSAGE(firstUpdateSince(*rig.sim, kZram, after.requestedAt(), contains(after.name())),
                  rig.log());

  REQUIRE_MESSAGE(rig.udevd->restart(), "systemd-udevd did not answer again:\n" << rig.udevdLog());
  ZramDevice back;
  name = back.name();
  auto backAt = firstUpdateSince(*rig.sim, kZram, back.requestedAt(), contains(back.name()));
  REQUIRE_MESSAGE(backAt, "no update with " << back.name() << " after udevd came back\n"
                                            << rig.log());
  Latencies comeback;
  comeback.add(back.requestedAt(), *backAt);
  report("[kernel -> udev] zram hot_add -> ListAndWatch", comeback);
  CHECK_MESSAGE(waitForLog(rig.pluginLog, "udevd answers again; following udev events"), rig.log());
  REQUIRE(back.remove(&writtenAt, nullptr));
  REQUIRE_MESSAGE(firstUpdateSince(*rig.sim, kZram, writtenAt, lacks(name)), rig.log());

  // The hard case: udevd still answers when the kernel's uevent comes, then dies with the event
  // in its queue, and no further uevent comes to tell. Frozen, it answers (its socket's backlog
  // takes the connection) but passes nothing on; killed, it no longer answers.
  rig.udevd->freeze();
  REQUIRE(udevdAnswers());
  ZramDevice orphan;
  name = orphan.name();
  std::this_thread::sleep_for(300ms);  // the plugin reads the uevent and asks udevd meanwhile
  rig.udevd->terminate(SIGKILL);
  REQUIRE_FALSE(udevdAnswers());
  auto orphanAt = firstUpdateSince(*rig.sim, kZram, orphan.requestedAt(), contains(orphan.name()));
  REQUIRE_MESSAGE(orphanAt, "no update with " << orphan.name() << " after udevd died with it\n"
                                              << rig.log());
  Latencies orphaned;
  orphaned.add(orphan.requestedAt(), *orphanAt);
  report("[udev -> kernel] uevent udevd dropped -> ListAndWatch", orphaned);
  std::string text = readFile(rig.pluginLog);
  size_t fallbacks = 0;
  for (size_t at = 0; (at = text.find("udevd stopped answering", at)) != std::string::npos; ++at) {
    ++fallbacks;
  }
  CHECK_MESSAGE(fallbacks == 2, rig.log());

  // Nothing lost on the way: every device still present is listed.
  auto latest = rig.sim->updates(kZram).back().devices;
  for (const ZramDevice* zram : {&before, &after, &orphan}) {
    CHECK(findDevice(latest, zram->name()) != nullptr);
  }
  CHECK(rig.stop() == 0);
}

}  // namespace

TEST_CASE("kernel uevents: zram hot_add and hot_remove reach ListAndWatch") {
  zramAddRemove(Source::kKernel);
}
TEST_CASE("kernel uevents: a removed zram device is kept Unhealthy with onRemove: unhealthy") {
  zramKeptUnhealthy(Source::kKernel);
}
TEST_CASE("kernel uevents: loop attach and detach turn the device Healthy and Unhealthy") {
  loopAttachDetach(Source::kKernel);
}
TEST_CASE("kernel uevents: Allocate on a hot-added zram device") {
  allocateHotAdded(Source::kKernel);
}

TEST_CASE("udev events: zram hot_add and hot_remove reach ListAndWatch") {
  zramAddRemove(Source::kUdev);
}
TEST_CASE("udev events: a removed zram device is kept Unhealthy with onRemove: unhealthy") {
  zramKeptUnhealthy(Source::kUdev);
}
TEST_CASE("udev events: loop attach and detach turn the device Healthy and Unhealthy") {
  loopAttachDetach(Source::kUdev);
}
TEST_CASE("udev events: Allocate on a hot-added zram device") {
  allocateHotAdded(Source::kUdev);
}
TEST_CASE("udev events: udevd stopping falls back to kernel uevents, and its return back") {
  udevdStopsAndComesBack();
}

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::printf("SKIP: real hotplug needs root\n");
    return 77;
  }
  if (!udp::testing::zramControlAvailable()) {
    std::printf("SKIP: %s is not available (modprobe zram failed)\n", kZramControl);
    return 77;
  }
  udp::testing::installCleanupHandlers();
  doctest::Context context(argc, argv);
  return context.run();
}
