// The plugin as a Type=notify systemd service: what it tells $NOTIFY_SOCKET, read from a socket of
// our own playing systemd's part, while the grpc++ kubelet simulator registers its resources.

#include <doctest/doctest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kubelet_sim.h"
#include "plugin_process.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;
using udp::testing::PluginProcess;
using udp::testing::TempDir;

namespace {

constexpr const char* kFoo = "example.com/foo";
constexpr const char* kBar = "example.com/bar";

const char* const kConfig = R"(resources:
  - name: example.com/foo
    match: [{subsystem: block}]
  - name: example.com/bar
    match: [{subsystem: tty}]
)";

// The watchdog systemd would enforce in these tests; the plugin must ping at least this often.
constexpr auto kWatchdog = 200ms;

// One assignment ("READY=1") and when it arrived. A datagram may carry several, one per line.
struct Notification {
  Clock::time_point at;
  std::string text;
};

// systemd's end of $NOTIFY_SOCKET: a datagram socket at a path, or at an abstract name ("@x").
class NotifySocket {
 public:
  explicit NotifySocket(std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(name_.size() < sizeof address.sun_path);
    memcpy(address.sun_path, name_.data(), name_.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    if (name_[0] == '@') address.sun_path[0] = '\0';
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& name() const { return name_; }

  // Reads what arrives until `done` says so for a new assignment or the time is up; returns
  // whether `done` was satisfied. Everything read is kept in all().
  bool readUntil(const std::function<bool(const Notification&)>& done,
                 std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count()) + 1) != 1) continue;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) continue;
      auto at = Clock::now();
      bool satisfied = false;
      std::string_view text(buffer, static_cast<size_t>(n));
      while (!text.empty()) {
        size_t end = std::min(text.find('\n'), text.size());
        if (end > 0) {
          all_.push_back({at, std::string(text.substr(0, end))});
          satisfied = satisfied || done(all_.back());
        }
        text.remove_prefix(std::min(end + 1, text.size()));
      }
      if (satisfied) return true;
    }
  }
  // Reads for the whole of `duration`.
  void readFor(std::chrono::milliseconds duration) {
    readUntil([](const Notification&) { return false; }, duration);
  }

  const std::vector<Notification>& all() const { return all_; }
  std::vector<Notification> matching(const std::string& prefix, Clock::time_point after) const {
    std::vector<Notification> out;
    for (const Notification& n : all_) {
      if (n.at >= after && n.text.starts_with(prefix)) out.push_back(n);
    }
    return out;
  }

 private:
  std::string name_;
  int fd_ = -1;
  std::vector<Notification> all_;
};

auto is(const std::string& text) {
  return [text](const Notification& n) { return n.text == text; };
}

// Sets the variables systemd sets for a Type=notify unit, for the plugin we start next, and
// removes them again so no other test's plugin inherits them.
class NotifyEnvironment {
 public:
  NotifyEnvironment(const std::string& socket, const char* watchdogUsec,
                    const char* watchdogPid = nullptr) {
    ::setenv("NOTIFY_SOCKET", socket.c_str(), 1);
    set("WATCHDOG_USEC", watchdogUsec);
    set("WATCHDOG_PID", watchdogPid);
  }
  ~NotifyEnvironment() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }

 private:
  static void set(const char* name, const char* value) {
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
};

struct Harness {
  TempDir tmp;
  std::string dir = tmp.file("device-plugins");
  std::string configPath = tmp.file("config.yaml");
  std::unique_ptr<KubeletSim> sim;
  std::unique_ptr<PluginProcess> plugin;

  Harness() {
    tmp.write("config.yaml", kConfig);
    mkdir(dir.c_str(), 0755);
    SimOptions options;
    options.dir = dir;
    sim = std::make_unique<KubeletSim>(options);
  }

  void startPlugin() {
    plugin = std::make_unique<PluginProcess>(
        udp::testing::binaryFromEnv("SCRIPTED_PLUGIN"),
        std::vector<std::string>{"run", "--config", configPath, "--kubelet-dir", dir});
  }

  bool registered(const char* resource) {
    auto info = sim->plugin(resource);
    return info && info->registrations >= 1;
  }
};

// The longest time between two pings, counting from `from` to the first one and from the last
// one to `to`: what systemd's watchdog timer would have seen.
Clock::duration longestGap(const std::vector<Notification>& pings, Clock::time_point from,
                           Clock::time_point to) {
  Clock::duration longest{};
  Clock::time_point previous = from;
  for (const Notification& ping : pings) {
    longest = std::max(longest, ping.at - previous);
    previous = ping.at;
  }
  return std::max(longest, to - previous);
}

std::string uniqueAbstractName() {
  return "@udp-notify-it-" + std::to_string(::getpid()) + "-" +
         std::to_string(Clock::now().time_since_epoch().count());
}

}  // namespace

TEST_CASE("READY=1 once every resource is registered, the watchdog fed, STOPPING=1 at SIGTERM") {
  Harness h;
  NotifySocket notify(h.tmp.file("notify"));
  NotifyEnvironment env(notify.name(), "200000");
  // The kubelet is not there yet: the plugin is up, but not ready.
  h.startPlugin();
  notify.readFor(500ms);
  CHECK(notify.matching("READY=1", {}).empty());

  REQUIRE(h.sim->start());
  bool sawEveryRegistration = false;
  bool ready = notify.readUntil(
      [&](const Notification& n) {
        if (n.text != "READY=1") return false;
        // Register returns only after the simulator counted it, so both must show here.
        sawEveryRegistration = h.registered(kFoo) && h.registered(kBar);
        return true;
      },
      5s);
  REQUIRE(ready);
  CHECK(sawEveryRegistration);
  CHECK(h.sim->registrationErrors().empty());
  auto readyAt = notify.matching("READY=1", {}).front().at;

  // STATUS= says what changed: at least one line by the time the plugin is ready.
  notify.readFor(1000ms);
  auto until = Clock::now();
  CHECK_FALSE(notify.matching("STATUS=", {}).empty());
  for (const Notification& n : notify.matching("STATUS=", {})) {
    CHECK_MESSAGE(n.text.size() > std::string("STATUS=").size(), n.text);
  }

  // WATCHDOG_USEC=200000: a ping every 100 ms from a reactor timer, never 200 ms without one.
  auto pings = notify.matching("WATCHDOG=1", readyAt);
  CHECK(pings.size() >= 5);
  CHECK(pings.size() <= 25);
  CHECK(longestGap(pings, readyAt, until) < kWatchdog);

  CHECK(h.plugin->terminate() == 0);
  CHECK(notify.readUntil(is("STOPPING=1"), 2s));
}

TEST_CASE("a kubelet restart shows in STATUS= and the plugin registers again") {
  Harness h;
  NotifySocket notify(uniqueAbstractName());  // systemd's other spelling of the socket
  NotifyEnvironment env(notify.name(), "200000");
  REQUIRE(h.sim->start());
  h.startPlugin();
  REQUIRE(notify.readUntil(is("READY=1"), 5s));
  notify.readFor(300ms);

  auto restartAt = Clock::now();
  REQUIRE(h.sim->restart());
  REQUIRE(h.sim->waitForRegistrations(kFoo, 2, 5s));
  REQUIRE(h.sim->waitForRegistrations(kBar, 2, 5s));
  notify.readFor(500ms);
  auto until = Clock::now();
  CHECK_FALSE(notify.matching("STATUS=", restartAt).empty());
  // The watchdog kept going through the restart.
  auto pings = notify.matching("WATCHDOG=1", restartAt);
  CHECK(longestGap(pings, restartAt, until) < kWatchdog);
  CHECK(h.plugin->terminate() == 0);
}

TEST_CASE("without WATCHDOG_USEC there is no watchdog timer") {
  Harness h;
  NotifySocket notify(h.tmp.file("notify"));
  NotifyEnvironment env(notify.name(), nullptr);
  REQUIRE(h.sim->start());
  h.startPlugin();
  REQUIRE(notify.readUntil(is("READY=1"), 5s));
  notify.readFor(600ms);
  CHECK(notify.matching("WATCHDOG=1", {}).empty());
  CHECK(h.plugin->terminate() == 0);
}

TEST_CASE("a watchdog meant for another process (WATCHDOG_PID) is not fed") {
  Harness h;
  NotifySocket notify(h.tmp.file("notify"));
  // PID 1 is never the plugin we start: the variables were inherited from a parent.
  NotifyEnvironment env(notify.name(), "200000", "1");
  REQUIRE(h.sim->start());
  h.startPlugin();
  REQUIRE(notify.readUntil(is("READY=1"), 5s));
  notify.readFor(600ms);
  CHECK(notify.matching("WATCHDOG=1", {}).empty());
  CHECK(h.plugin->terminate() == 0);
}
