#pragma once

// What the root-only integration tests do to the host: zram and loop devices they create, a
// systemd-udevd they start, child processes. Everything is tracked for a signal handler, because
// meson's timeout ends a test with SIGTERM and destructors do not run then, while a device or a
// udevd left behind would outlive the test run. Devices this process did not create are never
// touched.

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace udp::testing {

using HostClock = std::chrono::steady_clock;

inline constexpr const char* kZramControl = "/sys/class/zram-control";
inline constexpr const char* kUdevRunDir = "/run/udev";
inline constexpr const char* kUdevControl = "/run/udev/control";
inline constexpr const char* kUdevd = "/lib/systemd/systemd-udevd";

// SIGTERM, SIGINT and SIGHUP remove every tracked device, kill every tracked child, then die of
// the signal. Call once, before anything is created.
void installCleanupHandlers();

// Shows the signal handler a child process for exactly as long as it is held: a PID left in the
// table after its reaping could be someone else's by the time a signal comes.
class NotedPid {
 public:
  NotedPid() = default;
  ~NotedPid() { clear(); }
  NotedPid(const NotedPid&) = delete;
  NotedPid& operator=(const NotedPid&) = delete;
  void note(pid_t pid);
  void clear();

 private:
  pid_t pid_ = -1;
};

// The same for a TempDir (one at a time): the handler removes it.
class NotedTempDir {
 public:
  explicit NotedTempDir(const std::string& path);
  ~NotedTempDir();
  NotedTempDir(const NotedTempDir&) = delete;
  NotedTempDir& operator=(const NotedTempDir&) = delete;
};

struct CommandResult {
  int status = -1;  // exit status, 128 + signal, or -1 when it could not run
  std::string out;  // stdout
};

// Runs a command (PATH lookup) and collects its stdout; its stderr goes to /dev/null unless
// `keepStderr`, then it is appended to the output.
CommandResult runCommand(const std::vector<std::string>& args, bool keepStderr = false);

// Root, and /sys/class/zram-control (after modprobe zram if needed).
bool zramControlAvailable();

// Whether a udevd takes connections on /run/udev/control; a stale socket file refuses.
bool udevdAnswers();

// A systemd-udevd of our own, in the foreground so that its PID is the one we forked. If a udevd
// already answers, that one is used and nothing is started or stopped.
class Udevd {
 public:
  explicit Udevd(std::string logPath);
  ~Udevd();
  Udevd(const Udevd&) = delete;
  Udevd& operator=(const Udevd&) = delete;

  bool ready() const { return ready_; }
  // Whether we started it, and so may stop it.
  bool ours() const { return started_; }

  // Stops ours as an upgrade or a crash would: /run/udev, its control socket file included,
  // stays until the destructor. True once it exited on `signo`.
  bool terminate(int signo = SIGTERM);
  // SIGSTOP: its listening control socket still takes connections, but it passes nothing on.
  void freeze();
  // Starts ours (again); true once it answers.
  bool restart();

 private:
  std::string logPath_;
  bool started_ = false;  // by us: only then is anything stopped or removed
  pid_t pid_ = -1;
  bool ready_ = false;
  bool runDirExisted_ = true;
  bool diskDirExisted_ = true;
};

// hot_remove with retries while busy (udevd's probes hold the node open for a moment after an
// event). `writtenAt`: when the last write was made; `busyRetries`: EBUSY answers counted.
bool hotRemoveZram(int n, HostClock::time_point* writtenAt, int* busyRetries);

// A zram device of our own (hot_add), removed again by the destructor.
class ZramDevice {
 public:
  ZramDevice();  // a failed hot_add fails the test case (REQUIRE)
  ~ZramDevice();
  ZramDevice(const ZramDevice&) = delete;
  ZramDevice& operator=(const ZramDevice&) = delete;

  int number() const { return number_; }
  std::string name() const { return "zram" + std::to_string(number_); }
  HostClock::time_point requestedAt() const { return requestedAt_; }
  bool remove(HostClock::time_point* writtenAt, int* busyRetries);

 private:
  int number_ = -1;
  HostClock::time_point requestedAt_;
};

// A loop device of our own (losetup --find), detached again by the destructor.
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& backingFile);  // a failure fails the test case
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  std::string name() const { return "loop" + std::to_string(number_); }
  HostClock::time_point requestedAt() const { return requestedAt_; }
  // When losetup exited: the attach is done by then, so the rest is the uevent's way to us.
  HostClock::time_point returnedAt() const { return returnedAt_; }
  bool detach(HostClock::time_point* requestedAt, HostClock::time_point* returnedAt = nullptr);

 private:
  int number_ = -1;
  HostClock::time_point requestedAt_, returnedAt_;
};

}  // namespace udp::testing
