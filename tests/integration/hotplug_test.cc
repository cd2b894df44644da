// Real hotplug, end to end: kernel uevents from zram and loop devices this test creates, through
// the real plugin binary, to the grpc++ kubelet simulator. Each case runs once with the kernel's
// uevents (no udevd) and once with a systemd-udevd started here, and one stops and restarts that
// udevd under the running plugin. Needs root and zram; without them the whole binary exits 77,
// which meson reports as SKIP.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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

#include "kubelet_sim.h"
#include "plugin_process.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;
using udp::testing::percentile;
using udp::testing::PluginProcess;
using udp::testing::readFile;
using udp::testing::TempDir;

namespace {

constexpr const char* kZram = "example.com/zram";
constexpr const char* kZramKept = "example.com/zram-kept";
constexpr const char* kLoop = "example.com/loop";
constexpr const char* kZramControl = "/sys/class/zram-control";
constexpr const char* kUdevRunDir = "/run/udev";
constexpr const char* kUdevControl = "/run/udev/control";
constexpr const char* kUdevd = "/lib/systemd/systemd-udevd";
constexpr auto kWait = 5s;
constexpr int kZramIterations = 60;
constexpr int kLoopIterations = 10;

// ---------------------------------------------------------------------------------------------
// What this process created on the host, for the signal handler: meson's timeout ends the test
// with SIGTERM, and destructors do not run then, but a zram or loop device left behind would
// outlive the test run, and a plugin or udevd left running would outlive it too.

constexpr int kSlots = 16;
std::atomic<int> trackedZram[kSlots];
std::atomic<int> trackedLoop[kSlots];
std::atomic<pid_t> trackedPids[kSlots];
// Set while our own udevd runs and these did not exist before it.
std::atomic<bool> removeUdevRunDir{false};
std::atomic<bool> removeDiskDir{false};
// The current case's TempDir (a 4 MiB loop backing file among its contents); written before
// the flag is set.
char tempDirPath[PATH_MAX];
std::atomic<bool> removeTempDir{false};

template <typename T>
void track(std::atomic<T> (&slots)[kSlots], T value) {
  for (auto& slot : slots) {
    T empty = -1;
    if (slot.compare_exchange_strong(empty, value)) return;
  }
}

template <typename T>
void untrack(std::atomic<T> (&slots)[kSlots], T value) {
  for (auto& slot : slots) {
    T expected = value;
    if (slot.compare_exchange_strong(expected, -1)) return;
  }
}

size_t formatNumber(int value, char* out) {
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < sizeof digits);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  return n;
}

// Async-signal-safe calls only. The children go first: a udevd worker probing a zram device
// would make its removal fail with EBUSY.
extern "C" void cleanUpAndDie(int signo) {
  for (auto& pid : trackedPids) {
    if (pid_t p = pid.load(); p > 0) kill(p, SIGKILL);
  }
  for (auto& pid : trackedPids) {
    if (pid_t p = pid.load(); p > 0) waitpid(p, nullptr, 0);
  }
  for (auto& slot : trackedZram) {
    int n = slot.load();
    if (n < 0) continue;
    char text[16];
    size_t length = formatNumber(n, text);
    for (int attempt = 0; attempt < 100; ++attempt) {
      int fd = open("/sys/class/zram-control/hot_remove", O_WRONLY | O_CLOEXEC);
      if (fd < 0) break;
      bool busy = write(fd, text, length) < 0 && errno == EBUSY;
      close(fd);
      if (!busy) break;
      timespec pause{0, 10'000'000};
      nanosleep(&pause, nullptr);
    }
  }
  for (auto& slot : trackedLoop) {
    int n = slot.load();
    if (n < 0) continue;
    char path[32] = "/dev/loop";
    formatNumber(n, path + std::strlen(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ioctl(fd, LOOP_CLR_FD, 0);
      close(fd);
    }
  }
  const char* argv[] = {"/bin/rm", "-rf", nullptr, nullptr, nullptr, nullptr};
  int argc = 2;
  if (removeUdevRunDir) argv[argc++] = kUdevRunDir;
  if (removeDiskDir) argv[argc++] = "/dev/disk";
  if (removeTempDir) argv[argc++] = tempDirPath;
  if (argc > 2) {
    if (pid_t pid = fork(); pid == 0) {
      execv(argv[0], const_cast<char**>(argv));
      _exit(127);
    } else if (pid > 0) {
      waitpid(pid, nullptr, 0);
    }
  }
  signal(signo, SIG_DFL);
  raise(signo);
}

// Shows the signal handler a child of a Rig for exactly as long as the Rig holds it: a PID
// left in the table after its reaping could be someone else's by the time a signal comes.
class NotedPid {
 public:
  NotedPid() = default;
  ~NotedPid() { clear(); }
  NotedPid(const NotedPid&) = delete;
  NotedPid& operator=(const NotedPid&) = delete;
  void note(pid_t pid) {
    clear();
    pid_ = pid;
    track(trackedPids, pid_);
  }
  void clear() {
    if (pid_ > 0) untrack(trackedPids, pid_);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// The same for the Rig's TempDir.
struct NotedTempDir {
  explicit NotedTempDir(const std::string& path) {
    std::snprintf(tempDirPath, sizeof tempDirPath, "%s", path.c_str());
    removeTempDir = true;
  }
  ~NotedTempDir() { removeTempDir = false; }
  NotedTempDir(const NotedTempDir&) = delete;
  NotedTempDir& operator=(const NotedTempDir&) = delete;
};

void installCleanupHandlers() {
  for (int i = 0; i < kSlots; ++i) {
    trackedZram[i] = -1;
    trackedLoop[i] = -1;
    trackedPids[i] = -1;
  }
  struct sigaction action {};
  action.sa_handler = cleanUpAndDie;
  sigemptyset(&action.sa_mask);
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) sigaction(signo, &action, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Child processes.

struct CommandResult {
  int status = -1;  // exit status, 128 + signal, or -1 when it could not run
  std::string out;  // stdout
};

CommandResult runCommand(const std::vector<std::string>& args) {
  // argv is built before fork: the simulator's threads make anything but exec unsafe after it.
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid < 0) {
    close(pipeFds[0]);
    close(pipeFds[1]);
    return {};
  }
  if (pid == 0) {
    dup2(pipeFds[1], STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(pipeFds[1]);
  CommandResult result;
  char buf[512];
  for (ssize_t n; (n = read(pipeFds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    result.out.append(buf, static_cast<size_t>(n));
  }
  close(pipeFds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

bool zramControlAvailable() {
  if (access("/sys/class/zram-control/hot_add", R_OK) == 0) return true;
  runCommand({"modprobe", "zram"});
  return access("/sys/class/zram-control/hot_add", R_OK) == 0;
}

// The plugin's own test (udev_device_source.cc) asks the same way: a stale socket file refuses.
bool udevdAnswers() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", kUdevControl);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  bool answers = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ||
                 errno == EAGAIN || errno == EINPROGRESS;
  close(fd);
  return answers;
}

// A systemd-udevd of our own, in the foreground so that its PID is the one we forked. If a udevd
// already answers, that one is used and nothing is started or stopped.
class Udevd {
 public:
  explicit Udevd(std::string logPath) : logPath_(std::move(logPath)) {
    if (udevdAnswers()) {
      ready_ = true;
      return;
    }
    runDirExisted_ = std::filesystem::exists(kUdevRunDir);
    // udevd makes /dev/disk/by-diskseq links for the devices we attach; they are ours to remove.
    diskDirExisted_ = std::filesystem::exists("/dev/disk");
    removeUdevRunDir = !runDirExisted_;
    removeDiskDir = !diskDirExisted_;
    started_ = true;
    restart();
  }

  ~Udevd() {
    if (!started_) return;
    terminate();
    removeUdevRunDir = false;
    removeDiskDir = false;
    // Someone else's udevd may have come up meanwhile and now owns these.
    if (udevdAnswers()) return;
    std::error_code ignored;
    if (!runDirExisted_) std::filesystem::remove_all(kUdevRunDir, ignored);
    if (!diskDirExisted_) std::filesystem::remove_all("/dev/disk", ignored);
  }

  Udevd(const Udevd&) = delete;
  Udevd& operator=(const Udevd&) = delete;

  bool ready() const { return ready_; }
  // Whether we started it, and so may stop it.
  bool ours() const { return started_; }

  // Stops ours as an upgrade or a crash would: /run/udev, its control socket file included,
  // stays until the destructor. True once it exited on `signo`.
  bool terminate(int signo = SIGTERM) {
    ready_ = false;
    if (pid_ <= 0) return false;
    kill(pid_, signo);
    bool exited = false;
    for (auto deadline = Clock::now() + kWait; Clock::now() < deadline;) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    if (!exited) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    untrack(trackedPids, pid_);
    pid_ = -1;
    return exited;
  }

  // SIGSTOP: its listening control socket still takes connections, but it passes nothing on.
  void freeze() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }

  // Starts ours (again); true once it answers.
  bool restart() {
    if (!started_ || pid_ > 0) return ready_;
    pid_ = fork();
    if (pid_ == 0) {
      int log = open(logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        if (log > STDERR_FILENO) close(log);
      }
      execl(kUdevd, kUdevd, static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid_ < 0) return false;
    track(trackedPids, pid_);
    for (auto deadline = Clock::now() + kWait; Clock::now() < deadline;) {
      if (udevdAnswers()) {
        ready_ = true;
        break;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        untrack(trackedPids, pid_);
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    return ready_;
  }

 private:
  std::string logPath_;
  bool started_ = false;  // by us: only then is anything stopped or removed
  pid_t pid_ = -1;
  bool ready_ = false;
  bool runDirExisted_ = true;
  bool diskDirExisted_ = true;
};

// ---------------------------------------------------------------------------------------------
// Devices this test creates; every one is removed again by its destructor.

std::optional<int> readNumber(const std::string& path) {
  std::ifstream in(path);
  int n = -1;
  if (!(in >> n) || n < 0) return std::nullopt;
  return n;
}

// Retries while busy: udevd's probes hold the node open for a moment after an event.
bool hotRemoveZram(int n, Clock::time_point* writtenAt, int* busyRetries) {
  std::string text = std::to_string(n);
  for (auto deadline = Clock::now() + kWait;;) {
    int fd = open("/sys/class/zram-control/hot_remove", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    if (writtenAt != nullptr) *writtenAt = Clock::now();
    ssize_t written = write(fd, text.data(), text.size());
    int error = errno;
    close(fd);
    if (written == static_cast<ssize_t>(text.size())) return true;
    if (error != EBUSY || Clock::now() > deadline) return false;
    if (busyRetries != nullptr) ++*busyRetries;
    std::this_thread::sleep_for(1ms);
  }
}

class ZramDevice {
 public:
  ZramDevice() {
    requestedAt_ = Clock::now();
    std::optional<int> n = readNumber("/sys/class/zram-control/hot_add");
    REQUIRE_MESSAGE(n.has_value(), "hot_add failed: " << std::strerror(errno));
    number_ = *n;
    track(trackedZram, number_);
  }
  ~ZramDevice() {
    if (number_ < 0) return;
    if (!hotRemoveZram(number_, nullptr, nullptr)) {
      std::fprintf(stderr, "could not remove zram%d: %s\n", number_, std::strerror(errno));
    }
    untrack(trackedZram, number_);
  }
  ZramDevice(const ZramDevice&) = delete;
  ZramDevice& operator=(const ZramDevice&) = delete;

  std::string name() const { return "zram" + std::to_string(number_); }
  Clock::time_point requestedAt() const { return requestedAt_; }

  bool remove(Clock::time_point* writtenAt, int* busyRetries) {
    if (!hotRemoveZram(number_, writtenAt, busyRetries)) return false;
    untrack(trackedZram, number_);
    number_ = -1;
    return true;
  }

 private:
  int number_ = -1;
  Clock::time_point requestedAt_;
};

class LoopDevice {
 public:
  explicit LoopDevice(const std::string& backingFile) {
    requestedAt_ = Clock::now();
    CommandResult r = runCommand({"losetup", "--find", "--show", backingFile});
    returnedAt_ = Clock::now();
    REQUIRE_MESSAGE(r.status == 0, "losetup --find --show failed with " << r.status);
    std::string path = r.out.substr(0, r.out.find('\n'));
    REQUIRE_MESSAGE(path.rfind("/dev/loop", 0) == 0, "losetup printed '" << r.out << "'");
    number_ = std::stoi(path.substr(std::strlen("/dev/loop")));
    track(trackedLoop, number_);
  }
  ~LoopDevice() {
    if (number_ >= 0) detach(nullptr);
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  std::string name() const { return "loop" + std::to_string(number_); }
  Clock::time_point requestedAt() const { return requestedAt_; }
  // When losetup exited: the attach is done by then, so the rest is the uevent's way to us.
  Clock::time_point returnedAt() const { return returnedAt_; }

  bool detach(Clock::time_point* requestedAt, Clock::time_point* returnedAt = nullptr) {
    if (requestedAt != nullptr) *requestedAt = Clock::now();
    CommandResult r = runCommand({"losetup", "-d", "/dev/" + name()});
    if (returnedAt != nullptr) *returnedAt = Clock::now();
    if (r.status != 0) {
      std::fprintf(stderr, "losetup -d /dev/%s failed with %d\n", name().c_str(), r.status);
      return false;
    }
    untrack(trackedLoop, number_);
    number_ = -1;
    return true;
  }

 private:
  int number_ = -1;
  Clock::time_point requestedAt_, returnedAt_;
};

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
  if (!zramControlAvailable()) {
    std::printf("SKIP: %s is not available (modprobe zram failed)\n", kZramControl);
    return 77;
  }
  installCleanupHandlers();
  doctest::Context context(argc, argv);
  return context.run();
}
