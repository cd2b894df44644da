#include "host_devices.h"

#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

using namespace std::chrono_literals;

namespace udp::testing {
namespace {

constexpr auto kWait = 5s;

// ---------------------------------------------------------------------------------------------
// What this process created on the host, for the signal handler.

constexpr int kSlots = 16;
// A hotplug burst holds dozens of zram devices at once.
constexpr int kZramSlots = 128;
std::atomic<int> trackedZram[kZramSlots];
std::atomic<int> trackedLoop[kSlots];
std::atomic<pid_t> trackedPids[kSlots];
// Set while our own udevd runs and these did not exist before it.
std::atomic<bool> removeUdevRunDir{false};
std::atomic<bool> removeDiskDir{false};
// The current case's TempDir (a loop backing file among its contents); written before the flag
// is set.
char tempDirPath[PATH_MAX];
std::atomic<bool> removeTempDir{false};

template <typename T, size_t N>
void track(std::atomic<T> (&slots)[N], T value) {
  for (auto& slot : slots) {
    T empty = -1;
    if (slot.compare_exchange_strong(empty, value)) return;
  }
}

template <typename T, size_t N>
void untrack(std::atomic<T> (&slots)[N], T value) {
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

std::optional<int> readNumber(const std::string& path) {
  std::ifstream in(path);
  int n = -1;
  if (!(in >> n) || n < 0) return std::nullopt;
  return n;
}

}  // namespace

void installCleanupHandlers() {
  for (auto& slot : trackedZram) slot = -1;
  for (int i = 0; i < kSlots; ++i) {
    trackedLoop[i] = -1;
    trackedPids[i] = -1;
  }
  struct sigaction action {};
  action.sa_handler = cleanUpAndDie;
  sigemptyset(&action.sa_mask);
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) sigaction(signo, &action, nullptr);
}

void NotedPid::note(pid_t pid) {
  clear();
  pid_ = pid;
  track(trackedPids, pid_);
}

void NotedPid::clear() {
  if (pid_ > 0) untrack(trackedPids, pid_);
  pid_ = -1;
}

NotedTempDir::NotedTempDir(const std::string& path) {
  std::snprintf(tempDirPath, sizeof tempDirPath, "%s", path.c_str());
  removeTempDir = true;
}

NotedTempDir::~NotedTempDir() {
  removeTempDir = false;
}

CommandResult runCommand(const std::vector<std::string>& args, bool keepStderr) {
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
    if (keepStderr) {
      dup2(pipeFds[1], STDERR_FILENO);
    } else if (int null = open("/dev/null", O_WRONLY); null >= 0) {
      dup2(null, STDERR_FILENO);
    }
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

// The plugin's own test (udev_device_source.cc) asks the same way.
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

// ---------------------------------------------------------------------------------------------
// Udevd

Udevd::Udevd(std::string logPath) : logPath_(std::move(logPath)) {
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

Udevd::~Udevd() {
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

bool Udevd::terminate(int signo) {
  ready_ = false;
  if (pid_ <= 0) return false;
  kill(pid_, signo);
  bool exited = false;
  for (auto deadline = HostClock::now() + kWait; HostClock::now() < deadline;) {
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

void Udevd::freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

bool Udevd::restart() {
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
  for (auto deadline = HostClock::now() + kWait; HostClock::now() < deadline;) {
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

// ---------------------------------------------------------------------------------------------
// Devices

bool hotRemoveZram(int n, HostClock::time_point* writtenAt, int* busyRetries) {
  std::string text = std::to_string(n);
  for (auto deadline = HostClock::now() + kWait;;) {
    int fd = open("/sys/class/zram-control/hot_remove", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    if (writtenAt != nullptr) *writtenAt = HostClock::now();
    ssize_t written = write(fd, text.data(), text.size());
    int error = errno;
    close(fd);
    if (written == static_cast<ssize_t>(text.size())) return true;
    if (error != EBUSY || HostClock::now() > deadline) return false;
    if (busyRetries != nullptr) ++*busyRetries;
    std::this_thread::sleep_for(1ms);
  }
}

ZramDevice::ZramDevice() {
  requestedAt_ = HostClock::now();
  std::optional<int> n = readNumber("/sys/class/zram-control/hot_add");
  REQUIRE_MESSAGE(n.has_value(), "hot_add failed: " << std::strerror(errno));
  number_ = *n;
  track(trackedZram, number_);
}

ZramDevice::~ZramDevice() {
  if (number_ < 0) return;
  if (!hotRemoveZram(number_, nullptr, nullptr)) {
    std::fprintf(stderr, "could not remove zram%d: %s\n", number_, std::strerror(errno));
  }
  untrack(trackedZram, number_);
}

bool ZramDevice::remove(HostClock::time_point* writtenAt, int* busyRetries) {
  if (!hotRemoveZram(number_, writtenAt, busyRetries)) return false;
  untrack(trackedZram, number_);
  number_ = -1;
  return true;
}

LoopDevice::LoopDevice(const std::string& backingFile) {
  requestedAt_ = HostClock::now();
  CommandResult r = runCommand({"losetup", "--find", "--show", backingFile});
  returnedAt_ = HostClock::now();
  REQUIRE_MESSAGE(r.status == 0, "losetup --find --show failed with " << r.status);
  std::string path = r.out.substr(0, r.out.find('\n'));
  REQUIRE_MESSAGE(path.rfind("/dev/loop", 0) == 0, "losetup printed '" << r.out << "'");
  number_ = std::stoi(path.substr(std::strlen("/dev/loop")));
  track(trackedLoop, number_);
}

LoopDevice::~LoopDevice() {
  if (number_ >= 0) detach(nullptr);
}

bool LoopDevice::detach(HostClock::time_point* requestedAt, HostClock::time_point* returnedAt) {
  if (requestedAt != nullptr) *requestedAt = HostClock::now();
  CommandResult r = runCommand({"losetup", "-d", "/dev/" + name()});
  if (returnedAt != nullptr) *returnedAt = HostClock::now();
  if (r.status != 0) {
    std::fprintf(stderr, "losetup -d /dev/%s failed with %d\n", name().c_str(), r.status);
    return false;
  }
  untrack(trackedLoop, number_);
  number_ = -1;
  return true;
}

}  // namespace udp::testing
