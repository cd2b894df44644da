// The benchmark driver (bench/run builds and starts it). Each benchmark runs our plugin and the
// reference (bench/reference_plugin.cc, plain grpc++) in the same invocation against the grpc++
// kubelet simulator, prints one table and writes RESULTS.md. Figures only: nothing is asserted.
//
//   udp-bench --plugin BIN --scripted BIN --reference BIN --results FILE --data-dir DIR
//             [--only hotplug,restart,allocate,memory,idle,start,large]

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "kubelet_sim.h"
#include "plugin_process.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;
using udp::testing::PluginProcess;
using udp::testing::TempDir;
using Devices = std::vector<v1beta1::Device>;

namespace {

struct Paths {
  std::string plugin, scripted, reference, results, dataDir;
};
Paths paths;

struct Row {
  std::string figure, target, measured, reference, ratio;
};
std::vector<Row> rows;
std::vector<std::string> notes;

void addRow(Row row) {
  std::printf("  %-44s | %-16s | %-26s | %-26s | %s\n", row.figure.c_str(), row.target.c_str(),
              row.measured.c_str(), row.reference.c_str(), row.ratio.c_str());
  std::fflush(stdout);
  rows.push_back(std::move(row));
}

void note(const std::string& text) {
  std::printf("  note: %s\n", text.c_str());
  std::fflush(stdout);
  notes.push_back(text);
}

std::string format(const char* fmt, double value) {
  char text[64];
  std::snprintf(text, sizeof text, fmt, value);
  return text;
}

std::string ms(double value) {
  if (std::isinf(value)) return "> 2 s (not registered)";
  return format(value < 1 ? "%.3f ms" : "%.2f ms", value);
}
std::string ratio(double ours, double ref) {
  return ref > 0 ? format("%.2f", ours / ref) : std::string("-");
}

double millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, index == 0 ? 0 : index - 1)];
}

void writeData(const std::string& name, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::ofstream out(paths.dataDir + "/" + name);
  for (size_t i = 0; i < values.size(); ++i)
    out << values[i] << " " << 100.0 * static_cast<double>(i + 1) / values.size() << "\n";
}

std::map<std::string, long> procStatus(pid_t pid) {
  std::map<std::string, long> fields;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    try {
      fields[line.substr(0, colon)] = std::stol(line.substr(colon + 1));
    } catch (...) {
    }
  }
  return fields;
}

// Context switches of every thread of pid, and the read/write syscall counters of /proc/PID/io.
struct Wakeups {
  long voluntary = 0, involuntary = 0, syscr = 0, syscw = 0;
};

Wakeups wakeups(pid_t pid) {
  Wakeups w;
  std::string taskDir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* dir = opendir(taskDir.c_str())) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(taskDir + "/" + e->d_name + "/status");
      std::string line;
      while (std::getline(in, line)) {
        if (line.starts_with("voluntary_ctxt_switches:")) w.voluntary += std::stol(line.substr(24));
        if (line.starts_with("nonvoluntary_ctxt_switches:"))
          w.involuntary += std::stol(line.substr(27));
      }
    }
    closedir(dir);
  }
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long value;
  while (io >> key >> value) {
    if (key == "syscr:") w.syscr = value;
    if (key == "syscw:") w.syscw = value;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// A kubelet simulator with our plugin and/or the reference registered to it.

constexpr const char* kOurs = "example.com/bench";
constexpr const char* kRef = "example.com/ref";

std::string scriptedConfig() {
  return std::string("resources:\n  - name: ") + kOurs + R"(
    match: [{subsystem: block}]
    env: {BENCH_IDS: "{ids}", BENCH_NODES: "{devnodes}"}
    mounts: [{hostPath: /sys/class/block, containerPath: /sys/class/block, readOnly: true}]
)";
}

struct Rig {
  TempDir tmp;
  std::string dir = tmp.file("device-plugins");
  std::unique_ptr<KubeletSim> sim;

  Rig() {
    mkdir(dir.c_str(), 0755);
    tmp.write("config.yaml", scriptedConfig());
    sim = std::make_unique<KubeletSim>(SimOptions{.dir = dir});
    if (!sim->start()) throw std::runtime_error("simulator did not start");
  }

  std::unique_ptr<PluginProcess> startOurs(const std::string& binary, const std::string& config) {
    return std::make_unique<PluginProcess>(
        binary, std::vector<std::string>{"run", "--config", config, "--kubelet-dir", dir,
                                         "--log-level", "error"});
  }
  std::unique_ptr<PluginProcess> startScripted() {
    return startOurs(paths.scripted, tmp.file("config.yaml"));
  }
  std::unique_ptr<PluginProcess> startReference(const std::string& response = "") {
    std::vector<std::string> args{"--kubelet-dir", dir,       "--resource", kRef,
                                  "--endpoint",    "ref.sock"};
    if (!response.empty()) args.insert(args.end(), {"--response", response});
    return std::make_unique<PluginProcess>(paths.reference, args);
  }

  bool registered(const char* resource, int n = 1) {
    return sim->waitForRegistrations(resource, n, 10s);
  }
  std::string socketOf(const char* resource) { return dir + "/" + sim->plugin(resource)->endpoint; }

  // Sends `count` devices in one write per 256 lines; true once the simulator has the list.
  bool feed(PluginProcess& process, const char* resource, int count) {
    std::string batch;
    for (int i = 0; i < count; ++i) {
      char line[128];
      std::snprintf(line, sizeof line, "add %s dev-%05d numa=0 devnode=/dev/bench%05d", resource, i,
                    i);
      batch += line;
      if (i % 256 == 255 || i + 1 == count) {
        if (!process.send(batch)) return false;
        batch.clear();
      } else {
        batch += "\n";
      }
    }
    return sim
        ->waitForDevices(
            resource, [count](const Devices& d) { return d.size() == size_t(count); }, 30s)
        .has_value();
  }
};

std::shared_ptr<grpc::Channel> channelTo(const std::string& socket, bool ownConnection) {
  grpc::ChannelArguments args;
  // Without this, channels with equal arguments share one subchannel (one connection).
  if (ownConnection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix://" + socket, grpc::InsecureChannelCredentials(), args);
}

// ---------------------------------------------------------------------------------------------
// 1. Hotplug: zram hot_add / hot_remove -> ListAndWatch update in the simulator.

std::mutex zramMutex;
std::set<int> zramCreated;  // ours, removed again on any exit path

bool hotRemove(int n) {
  std::string text = std::to_string(n);
  for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
    int fd = open("/sys/class/zram-control/hot_remove", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t written = write(fd, text.data(), text.size());
    int error = errno;
    close(fd);
    if (written == static_cast<ssize_t>(text.size())) return true;
    if (error != EBUSY) return false;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

void removeLeftoverZram() {
  std::lock_guard lock(zramMutex);
  for (int n : zramCreated) hotRemove(n);
  zramCreated.clear();
}

extern "C" void onSignal(int signo) {
  // Not async-signal-safe in theory; good enough to not leave zram devices behind on ^C.
  removeLeftoverZram();
  signal(signo, SIG_DFL);
  raise(signo);
}

bool hasDevice(const Devices& devices, const std::string& id) {
  return std::any_of(devices.begin(), devices.end(), [&](const auto& d) { return d.id() == id; });
}

void benchHotplug() {
  constexpr int kCycles = 100;  // 200 events
  if (geteuid() != 0) {
    addRow({"hotplug -> ListAndWatch p99", "< 5 ms", "skipped: not root", "5-60 s (polling)", ""});
    return;
  }
  if (access("/sys/class/zram-control/hot_add", R_OK) != 0) {
    if (std::system("modprobe zram 2>/dev/null") != 0 ||
        access("/sys/class/zram-control/hot_add", R_OK) != 0) {
      addRow({"hotplug -> ListAndWatch p99", "< 5 ms", "skipped: no zram", "5-60 s (polling)", ""});
      return;
    }
  }
  Rig rig;
  const char* resource = "example.com/zram";
  rig.tmp.write("hotplug.yaml", std::string("resources:\n  - name: ") + resource +
                                    "\n    match: [{subsystem: block, kernel: \"zram*\"}]\n");
  auto plugin = rig.startOurs(paths.plugin, rig.tmp.file("hotplug.yaml"));
  if (!rig.registered(resource)) {
    addRow({"hotplug -> ListAndWatch p99", "< 5 ms", "failed: no registration", "", ""});
    return;
  }
  rig.sim->waitForDevices(
      resource, [](const Devices&) { return true; }, 5s);
  std::vector<double> added, removed, all;
  int failures = 0;
  for (int i = 0; i < kCycles; ++i) {
    Clock::time_point t0 = Clock::now();
    std::ifstream control("/sys/class/zram-control/hot_add");
    int n = -1;
    if (!(control >> n) || n < 0) {
      ++failures;
      break;
    }
    {
      std::lock_guard lock(zramMutex);
      zramCreated.insert(n);
    }
    std::string name = "zram" + std::to_string(n);
    auto up = rig.sim->waitForDevices(
        resource, [&](const Devices& d) { return hasDevice(d, name); }, 5s);
    if (up)
      added.push_back(millis(up->at - t0));
    else
      ++failures;
    if (failures > 2) {  // something is wrong (e.g. IDs are not kernel names): stop early
      removeLeftoverZram();
      break;
    }
    std::this_thread::sleep_for(2ms);  // let a udevd's probe (if any) finish: fewer EBUSY
    Clock::time_point t1 = Clock::now();
    bool gone = hotRemove(n);
    if (gone) {
      std::lock_guard lock(zramMutex);
      zramCreated.erase(n);
    }
    auto down = rig.sim->waitForDevices(
        resource, [&](const Devices& d) { return !hasDevice(d, name); }, 5s);
    if (gone && down)
      removed.push_back(millis(down->at - t1));
    else
      ++failures;
  }
  removeLeftoverZram();
  plugin->terminate();
  all = added;
  all.insert(all.end(), removed.begin(), removed.end());
  writeData("hotplug.dat", all);
  bool udevd = access("/run/udev/control", F_OK) == 0;
  note("hotplug: " + std::to_string(all.size()) + " events (" + std::to_string(added.size()) +
       " hot_add, " + std::to_string(removed.size()) + " hot_remove), " + std::to_string(failures) +
       " failures; events from " + (udevd ? "udevd" : "kernel uevents (no udevd running)") +
       "; clock from before the sysfs write to the update's arrival in the simulator");
  std::string ref = "5-60 s (polling)";
  addRow({"hotplug -> ListAndWatch p50", "", ms(percentile(all, 50)), ref, ""});
  addRow({"hotplug -> ListAndWatch p99", "< 5 ms", ms(percentile(all, 99)), ref, ""});
  addRow({"hotplug -> ListAndWatch max", "", ms(percentile(all, 100)), ref, ""});
  addRow({"  hot_add p50 / p99", "", ms(percentile(added, 50)) + " / " + ms(percentile(added, 99)),
          "", ""});
  addRow({"  hot_remove p50 / p99", "",
          ms(percentile(removed, 50)) + " / " + ms(percentile(removed, 99)), "", ""});
}

// ---------------------------------------------------------------------------------------------
// 2. Kubelet restart -> registered again.

void benchRestart() {
  constexpr int kRestarts = 100;
  constexpr auto kGiveUp = 2s;  // a restart not registered by then counts as "> 2 s"
  Rig rig;
  auto plugin = rig.startScripted();
  if (!rig.registered(kOurs)) {
    addRow({"kubelet restart -> registered p99", "< 50 ms", "failed: no registration", "", ""});
    return;
  }
  // When kubelet.sock appears, seen by inotify in a thread of our own.
  int inotify = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(inotify, rig.dir.c_str(), IN_CREATE);
  std::mutex mutex;
  std::vector<Clock::time_point> created;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    alignas(inotify_event) char buffer[4096];
    while (!stop) {
      ssize_t n = read(inotify, buffer, sizeof buffer);
      if (n <= 0) break;
      Clock::time_point now = Clock::now();
      for (char* p = buffer; p < buffer + n;) {
        auto* event = reinterpret_cast<inotify_event*>(p);
        if (event->len > 0 && std::strcmp(event->name, "kubelet.sock") == 0) {
          std::lock_guard lock(mutex);
          created.push_back(now);
        }
        p += sizeof(inotify_event) + event->len;
      }
    }
  });
  std::vector<double> latencies;
  int failures = 0;
  int unmeasured = 0;  // registered again, but the watcher thread never saw the IN_CREATE
  for (int i = 0; i < kRestarts; ++i) {
    size_t before;
    {
      std::lock_guard lock(mutex);
      before = created.size();
    }
    int registrations = rig.sim->plugin(kOurs)->registrations;
    if (!rig.sim->restart()) {
      ++failures;
      continue;
    }
    if (!rig.sim->waitForRegistrations(kOurs, registrations + 1, kGiveUp)) {
      ++failures;
      latencies.push_back(INFINITY);  // counts as slower than everything else
      continue;
    }
    auto info = rig.sim->plugin(kOurs);
    // The watcher thread records IN_CREATE on its own schedule, which can be after the
    // registration when the machine is busy: wait for it rather than miscount.
    Clock::time_point createdAt{};
    for (int wait = 0; wait < 500 && createdAt == Clock::time_point{}; ++wait) {
      {
        std::lock_guard lock(mutex);
        if (created.size() > before) createdAt = created[before];
      }
      if (createdAt == Clock::time_point{}) std::this_thread::sleep_for(1ms);
    }
    if (createdAt == Clock::time_point{}) {
      ++unmeasured;
      continue;
    }
    latencies.push_back(millis(info->registeredAt - createdAt));
  }
  stop = true;
  // Wakes the watcher: one more file in the directory.
  std::ofstream(rig.dir + "/wake");
  watcher.join();
  close(inotify);
  plugin->terminate();
  std::vector<double> finite;
  std::copy_if(latencies.begin(), latencies.end(), std::back_inserter(finite),
               [](double v) { return std::isfinite(v); });
  writeData("restart.dat", finite);
  note("restart: " + std::to_string(latencies.size()) + " restarts measured, " +
       std::to_string(failures) + " not registered again within 2 s (counted as > 2 s), " +
       std::to_string(unmeasured) +
       " registered but without an IN_CREATE seen by the driver (not measured); clock from "
       "kubelet.sock's IN_CREATE "
       "(inotify in the driver) to the end of the "
       "simulator's Register handler (after its GetDevicePluginOptions call on the plugin)");
  std::string ref = "1-30 s, often never";
  addRow({"kubelet restart -> registered p50", "", ms(percentile(latencies, 50)), ref, ""});
  addRow({"kubelet restart -> registered p99", "< 50 ms", ms(percentile(latencies, 99)), ref, ""});
  addRow({"kubelet restart -> registered max", "", ms(percentile(latencies, 100)), ref, ""});
}

// ---------------------------------------------------------------------------------------------
// 3. Allocate.

v1beta1::AllocateRequest allocateRequest() {
  v1beta1::AllocateRequest request;
  auto* container = request.add_container_requests();
  container->add_devices_ids("dev-00000");
  container->add_devices_ids("dev-00001");
  return request;
}

std::vector<double> sequential(const std::shared_ptr<grpc::Channel>& channel, int calls) {
  auto stub = v1beta1::DevicePlugin::NewStub(channel);
  v1beta1::AllocateRequest request = allocateRequest();
  std::vector<double> latencies;
  latencies.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    v1beta1::AllocateResponse response;
    Clock::time_point t0 = Clock::now();
    grpc::Status status = stub->Allocate(&context, request, &response);
    if (status.ok()) latencies.push_back(millis(Clock::now() - t0) * 1000.0);  // microseconds
  }
  return latencies;
}

// 16 threads of sync calls for `duration`; calls per second.
double concurrent(const std::string& socket, bool ownConnections, Clock::duration duration) {
  constexpr int kThreads = 16;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  auto shared = channelTo(socket, true);
  for (int i = 0; i < kThreads; ++i)
    channels.push_back(ownConnections ? channelTo(socket, true) : shared);
  for (auto& c : channels) c->WaitForConnected(std::chrono::system_clock::now() + 5s);
  std::atomic<long> done{0};
  std::atomic<bool> go{false};
  Clock::time_point end;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto stub = v1beta1::DevicePlugin::NewStub(channels[i]);
      v1beta1::AllocateRequest request = allocateRequest();
      while (!go) std::this_thread::yield();
      long n = 0;
      while (Clock::now() < end) {
        grpc::ClientContext context;
        v1beta1::AllocateResponse response;
        if (stub->Allocate(&context, request, &response).ok()) ++n;
      }
      done += n;
    });
  }
  Clock::time_point start = Clock::now();
  end = start + duration;
  go = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - start).count();
}

void benchAllocate() {
  Rig rig;
  auto ours = rig.startScripted();
  if (!rig.registered(kOurs) || !rig.feed(*ours, kOurs, 4)) {
    addRow({"Allocate", "", "failed: plugin did not come up", "", ""});
    return;
  }
  v1beta1::AllocateResponse ourResponse;
  {
    auto stub = v1beta1::DevicePlugin::NewStub(channelTo(rig.socketOf(kOurs), false));
    grpc::ClientContext context;
    grpc::Status status = stub->Allocate(&context, allocateRequest(), &ourResponse);
    if (!status.ok()) {
      addRow({"Allocate", "", "failed: " + status.error_message(), "", ""});
      return;
    }
  }
  std::string responseFile = rig.tmp.file("response.bin");
  std::ofstream(responseFile, std::ios::binary) << ourResponse.SerializeAsString();
  auto ref = rig.startReference(responseFile);
  if (!rig.registered(kRef)) {
    addRow({"Allocate", "", "failed: reference did not register", "", ""});
    return;
  }
  auto ourChannel = channelTo(rig.socketOf(kOurs), true);
  auto refChannel = channelTo(rig.socketOf(kRef), true);
  {
    auto stub = v1beta1::DevicePlugin::NewStub(refChannel);
    grpc::ClientContext context;
    v1beta1::AllocateResponse refResponse;
    stub->Allocate(&context, allocateRequest(), &refResponse);
    note(
        "allocate: response " + std::to_string(ourResponse.ByteSizeLong()) + " bytes; " +
        (google::protobuf::util::MessageDifferencer::Equals(refResponse, ourResponse)
             ? "the reference answers the same message (map entries may serialize in another order)"
             : "WARNING: the reference answers different bytes"));
  }
  sequential(ourChannel, 300);  // warm-up
  sequential(refChannel, 300);
  std::vector<double> oursSeq, refSeq;
  for (int round = 0; round < 6; ++round) {  // interleaved, so that noise hits both
    auto a = sequential(ourChannel, 500);
    auto b = sequential(refChannel, 500);
    oursSeq.insert(oursSeq.end(), a.begin(), a.end());
    refSeq.insert(refSeq.end(), b.begin(), b.end());
  }
  auto us = [](double v) { return format("%.0f us", v); };
  for (double p : {50.0, 99.0}) {
    double a = percentile(oursSeq, p), b = percentile(refSeq, p);
    addRow({format("Allocate sequential p%.0f", p), "<= reference", us(a), us(b), ratio(a, b)});
  }
  for (bool own : {false, true}) {
    double a = 0, b = 0;
    for (int round = 0; round < 2; ++round) {
      a += concurrent(rig.socketOf(kOurs), own, 1500ms);
      b += concurrent(rig.socketOf(kRef), own, 1500ms);
    }
    a /= 2;
    b /= 2;
    addRow({std::string("Allocate 16 concurrent, ") + (own ? "16 connections" : "1 connection") +
                " (calls/s)",
            ">= reference", format("%.0f/s", a), format("%.0f/s", b), ratio(a, b)});
  }
  ref->terminate();
  ours->terminate();
}

// ---------------------------------------------------------------------------------------------
// 4. Memory; 7. large lists (same set-up: N devices through the scripted source).

struct Memory {
  long rssAnon = 0, vmRss = 0, vmHwm = 0;  // KiB
};

Memory memoryOf(pid_t pid) {
  auto status = procStatus(pid);
  return {status["RssAnon"], status["VmRSS"], status["VmHWM"]};
}

std::string kib(long value) {
  return format("%.2f MiB", static_cast<double>(value) / 1024.0);
}

void benchMemory() {
  std::map<int, std::pair<Memory, Memory>> at;
  for (int count : {10, 1000, 10000}) {
    Rig rig;
    auto ours = rig.startScripted();
    auto ref = rig.startReference();
    if (!rig.registered(kOurs) || !rig.registered(kRef) || !rig.feed(*ours, kOurs, count) ||
        !rig.feed(*ref, kRef, count)) {
      addRow({format("memory, %.0f devices", count), "", "failed", "", ""});
      continue;
    }
    std::this_thread::sleep_for(300ms);
    Memory a = memoryOf(ours->pid()), b = memoryOf(ref->pid());
    at[count] = {a, b};
    std::string what = format("%.0f devices", count);
    bool target = count == 1000;
    addRow({"RssAnon, " + what, target ? "< 2 MiB" : "", kib(a.rssAnon), kib(b.rssAnon),
            ratio(a.rssAnon, b.rssAnon)});
    addRow({"VmRSS, " + what, target ? "< 8 MiB" : "", kib(a.vmRss), kib(b.vmRss),
            ratio(a.vmRss, b.vmRss)});
    addRow({"VmHWM, " + what, "", kib(a.vmHwm), kib(b.vmHwm), ratio(a.vmHwm, b.vmHwm)});

    if (count == 1000) {
      // 100 more open connections (each with one finished call) to each.
      std::vector<std::shared_ptr<grpc::Channel>> channels;
      for (const char* resource : {kOurs, kRef}) {
        for (int i = 0; i < 100; ++i) {
          auto channel = channelTo(rig.socketOf(resource), true);
          auto stub = v1beta1::DevicePlugin::NewStub(channel);
          grpc::ClientContext context;
          v1beta1::DevicePluginOptions options;
          stub->GetDevicePluginOptions(&context, v1beta1::Empty(), &options);
          channels.push_back(channel);
        }
      }
      std::this_thread::sleep_for(300ms);
      Memory c = memoryOf(ours->pid()), d = memoryOf(ref->pid());
      addRow({"RssAnon, 1000 devices + 100 connections", "", kib(c.rssAnon), kib(d.rssAnon),
              ratio(c.rssAnon, d.rssAnon)});
      addRow({"VmRSS, 1000 devices + 100 connections", "", kib(c.vmRss), kib(d.vmRss),
              ratio(c.vmRss, d.vmRss)});
      note(format("memory: per open connection (RssAnon) ours %.1f KiB",
                  static_cast<double>(c.rssAnon - a.rssAnon) / 100.0) +
           format(", reference %.1f KiB", static_cast<double>(d.rssAnon - b.rssAnon) / 100.0));
    }
    ref->terminate();
    ours->terminate();
  }
  if (at.count(10) && at.count(10000)) {
    auto perDevice = [&](auto member) {
      return static_cast<double>(member(at[10000]) - member(at[10])) * 1024.0 / 9990.0;
    };
    double a = perDevice([](auto& p) { return p.first.rssAnon; });
    double b = perDevice([](auto& p) { return p.second.rssAnon; });
    addRow({"RssAnon per device (10 -> 10 000)", "", format("%.0f B", a), format("%.0f B", b),
            ratio(a, b)});
  }
}

void benchLargeList() {
  constexpr int kCount = 10000, kChanges = 40;
  Rig rig;
  auto ours = rig.startScripted();
  auto ref = rig.startReference();
  if (!rig.registered(kOurs) || !rig.registered(kRef) || !rig.feed(*ours, kOurs, kCount) ||
      !rig.feed(*ref, kRef, kCount)) {
    addRow({"10 000 devices, one change -> update", "", "failed", "", ""});
    return;
  }
  auto measure = [&](PluginProcess& process, const char* resource, int i) -> std::optional<double> {
    bool add = i % 2 == 0;
    size_t expected = add ? kCount + 1 : kCount;
    Clock::time_point t0 = Clock::now();
    process.send(std::string(add ? "add " : "remove ") + resource + " " + "extra-" +
                 std::to_string(i - (add ? 0 : 1)));
    auto update = rig.sim->waitForDevices(
        resource, [&](const Devices& d) { return d.size() == expected; }, 5s);
    if (!update) return std::nullopt;
    return millis(update->at - t0);
  };
  std::vector<double> a, b;
  for (int i = 0; i < kChanges; ++i) {
    if (auto v = measure(*ours, kOurs, i)) a.push_back(*v);
    if (auto v = measure(*ref, kRef, i)) b.push_back(*v);
  }
  note("large list: " + std::to_string(a.size()) + "/" + std::to_string(b.size()) +
       " changes measured (ours/reference); clock from the write of the script line to the "
       "simulator's receipt of the decoded 10 000-device update (includes the simulator's "
       "decode)");
  for (double p : {50.0, 99.0}) {
    double x = percentile(a, p), y = percentile(b, p);
    addRow(
        {format("10 000 devices, one change -> update p%.0f", p), "", ms(x), ms(y), ratio(x, y)});
  }
  ref->terminate();
  ours->terminate();
}

// ---------------------------------------------------------------------------------------------
// 5. Idle.

long straceCount(const std::string& file) {
  // The "total" line of strace -c: "100.00 0.000000 0 CALLS [ERRORS] total".
  // No calls at all: strace -c writes nothing.
  std::ifstream in(file);
  if (!in) return -1;
  std::string line;
  long calls = 0;
  while (std::getline(in, line)) {
    if (line.find("total") == std::string::npos) continue;
    std::istringstream words(line);
    std::string percent, seconds, usecs;
    words >> percent >> seconds >> usecs >> calls;
  }
  return calls;
}

void benchIdle() {
  Rig rig;
  auto ours = rig.startScripted();
  auto ref = rig.startReference();
  if (!rig.registered(kOurs) || !rig.registered(kRef) || !rig.feed(*ours, kOurs, 10) ||
      !rig.feed(*ref, kRef, 10)) {
    addRow({"idle 10 s", "", "failed", "", ""});
    return;
  }
  std::this_thread::sleep_for(1s);
  Wakeups a0 = wakeups(ours->pid()), b0 = wakeups(ref->pid());
  std::this_thread::sleep_for(10s);
  Wakeups a1 = wakeups(ours->pid()), b1 = wakeups(ref->pid());
  long oursSwitches = a1.voluntary + a1.involuntary - a0.voluntary - a0.involuntary;
  long refSwitches = b1.voluntary + b1.involuntary - b0.voluntary - b0.involuntary;
  addRow({"idle 10 s: context switches (all threads)", "0", format("%.0f", oursSwitches),
          format("%.0f", refSwitches), ""});
  addRow({"idle 10 s: read+write syscalls (/proc io)", "0",
          format("%.0f", a1.syscr + a1.syscw - a0.syscr - a0.syscw),
          format("%.0f", b1.syscr + b1.syscw - b0.syscr - b0.syscw), ""});
  if (access("/usr/bin/strace", X_OK) == 0) {
    std::string fa = rig.tmp.file("strace-ours"), fb = rig.tmp.file("strace-ref");
    std::string cmd = "timeout -s INT 10 strace -c -f -o " + fa + " -p " +
                      std::to_string(ours->pid()) + " 2>/dev/null & timeout -s INT 10 strace -c " +
                      "-f -o " + fb + " -p " + std::to_string(ref->pid()) + " 2>/dev/null; wait";
    if (std::system(cmd.c_str()) != -1) {
      addRow({"idle 10 s: all syscalls (strace -c -f)", "0", format("%.0f", straceCount(fa)),
              format("%.0f", straceCount(fb)), ""});
    }
  }
  note(
      "idle: ListAndWatch open, 10 devices, nothing happening; context switches summed over "
      "/proc/PID/task/*/status, read/write syscalls from /proc/PID/io (io_uring_enter is not "
      "counted there); strace in a second 10 s window (its attach counts as a few calls)");
  ref->terminate();
  ours->terminate();
}

// ---------------------------------------------------------------------------------------------
// 6. Start -> registered; binary size.

void benchStart() {
  constexpr int kRuns = 20;
  Rig rig;
  const char* resource = "example.com/zram";
  rig.tmp.write("start.yaml", std::string("resources:\n  - name: ") + resource +
                                  "\n    match: [{subsystem: block, kernel: \"zram*\"}]\n");
  std::vector<double> a, b;
  for (int i = 0; i < kRuns; ++i) {
    {
      Clock::time_point t0 = Clock::now();
      auto plugin = rig.startOurs(paths.plugin, rig.tmp.file("start.yaml"));
      if (rig.sim->waitForRegistrations(resource, i + 1, 5s))
        a.push_back(millis(rig.sim->plugin(resource)->registeredAt - t0));
      plugin->terminate();
    }
    {
      Clock::time_point t0 = Clock::now();
      auto ref = rig.startReference();
      if (rig.sim->waitForRegistrations(kRef, i + 1, 5s))
        b.push_back(millis(rig.sim->plugin(kRef)->registeredAt - t0));
      ref->terminate();
    }
  }
  note("start: " + std::to_string(a.size()) + "/" + std::to_string(b.size()) +
       " runs (ours: the real udev binary; reference: grpc++); clock from fork to the end of "
       "the simulator's Register handler");
  for (double p : {50.0, 100.0}) {
    double x = percentile(a, p), y = percentile(b, p);
    addRow({p == 50 ? "start -> registered p50" : "start -> registered max", "< 20 ms", ms(x),
            ms(y), ratio(x, y)});
  }

  auto strippedSize = [&](const std::string& binary) -> long {
    std::string out = rig.tmp.file("stripped");
    std::string cmd = "strip --strip-all -o " + out + " " + binary;
    if (std::system(cmd.c_str()) != 0) return -1;
    struct stat st {};
    stat(out.c_str(), &st);
    unlink(out.c_str());
    return st.st_size;
  };
  long x = strippedSize(paths.plugin), y = strippedSize(paths.reference);
  addRow({"stripped binary (dynamic)", "< 2 MiB", format("%.2f MiB", x / 1048576.0),
          format("%.2f MiB", y / 1048576.0), ratio(x, y)});
  note("binary: the reference's size excludes its shared grpc++/protobuf libraries");
}

// ---------------------------------------------------------------------------------------------

void writeResults(const std::string& started) {
  std::ofstream out(paths.results);
  out << "# Benchmark results\n\n"
      << "Generated by `bench/run` (" << started
      << "). Ratio = ours / reference: below 1 is better for times and memory, above 1 for "
         "throughput. Measured on a shared, noisy machine; the reference ran in the same "
         "invocation. See bench/README.md for what each figure means.\n\n"
      << "| figure | target | measured (ours) | reference | ratio |\n|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    out << "| " << r.figure << " | " << r.target << " | " << r.measured << " | " << r.reference
        << " | " << r.ratio << " |\n";
  }
  out << "\n## Notes\n\n";
  for (const std::string& n : notes) out << "- " << n << "\n";
  out << "\n![latency distributions](latency.png)\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--plugin") paths.plugin = value;
    if (key == "--scripted") paths.scripted = value;
    if (key == "--reference") paths.reference = value;
    if (key == "--results") paths.results = value;
    if (key == "--data-dir") paths.dataDir = value;
    if (key == "--only") only = "," + value + ",";
  }
  if (paths.plugin.empty() || paths.scripted.empty() || paths.reference.empty() ||
      paths.results.empty() || paths.dataDir.empty()) {
    std::fprintf(stderr,
                 "usage: udp-bench --plugin BIN --scripted BIN --reference BIN "
                 "--results FILE --data-dir DIR [--only a,b]\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) signal(signo, onSignal);
  std::filesystem::create_directories(paths.dataDir);
  std::time_t now = std::time(nullptr);
  char started[64];
  std::strftime(started, sizeof started, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));

  std::printf("  %-44s | %-16s | %-26s | %-26s | %s\n", "figure", "target", "measured (ours)",
              "reference", "ratio");
  struct Bench {
    const char* name;
    void (*run)();
  };
  for (Bench b :
       {Bench{"hotplug", benchHotplug}, Bench{"restart", benchRestart},
        Bench{"allocate", benchAllocate}, Bench{"memory", benchMemory}, Bench{"idle", benchIdle},
        Bench{"start", benchStart}, Bench{"large", benchLargeList}}) {
    if (!only.empty() && only.find(std::string(",") + b.name + ",") == std::string::npos) continue;
    Clock::time_point t0 = Clock::now();
    try {
      b.run();
    } catch (const std::exception& e) {
      addRow({b.name, "", std::string("failed: ") + e.what(), "", ""});
    }
    std::fprintf(stderr, "[%s took %.1f s]\n", b.name, millis(Clock::now() - t0) / 1000.0);
  }
  removeLeftoverZram();
  writeResults(started);
  return 0;
}
