// The notifier against real SOCK_DGRAM sockets, bound at a path and at an abstract name, the
// two spellings systemd uses for $NOTIFY_SOCKET.

#include "app/systemd_notifier.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include "../../support/temp_dir.h"

using udp::UniqueFd;
using udp::app::SystemdNotifier;
using namespace std::chrono_literals;

namespace {

using udp::testing::TempDir;

// What systemd's end of the socket sees: the payload and the sender's credentials, which
// systemd uses to accept messages from the main PID only (NotifyAccess=main).
struct Datagram {
  std::string payload;
  pid_t pid = 0;
};

class Receiver {
 public:
  // `name`: a path, or "@name" for the abstract namespace.
  explicit Receiver(const std::string& name) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE(fd_.valid());
    int on = 1;
    REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(name.size() < sizeof address.sun_path);
    memcpy(address.sun_path, name.data(), name.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);
  }

  std::optional<Datagram> receive(std::chrono::milliseconds timeout = 1000ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buffer, sizeof buffer};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_.get(), &message, 0);
    if (n < 0) return std::nullopt;
    Datagram datagram{std::string(buffer, static_cast<size_t>(n)), 0};
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred credentials;
        memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
        datagram.pid = credentials.pid;
      }
    }
    return datagram;
  }

 private:
  UniqueFd fd_;
};

struct Env {
  std::map<std::string, std::string> values;
  SystemdNotifier::EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = values.find(name);
      return it == values.end() ? nullptr : it->second.c_str();
    };
  }
};

std::string uniqueAbstractName() {
  static int counter = 0;
  return "@udp-notify-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace

TEST_CASE("without NOTIFY_SOCKET there is nothing to notify") {
  Env env;
  CHECK(SystemdNotifier::fromEnvironment(env.lookup(), ::getpid()) == nullptr);
  env.values["WATCHDOG_USEC"] = "200000";  // a watchdog alone has nobody to feed
  CHECK(SystemdNotifier::fromEnvironment(env.lookup(), ::getpid()) == nullptr);
}

TEST_CASE("names that are neither a path nor an abstract name are refused") {
  for (const char* name : {"", "@", "relative/path", "vsock:2:1234", "/"}) {
    Env env{{{"NOTIFY_SOCKET", name}}};
    CHECK_MESSAGE(SystemdNotifier::fromEnvironment(env.lookup(), ::getpid()) == nullptr, name);
  }
  Env tooLong{{{"NOTIFY_SOCKET", "/" + std::string(sizeof(sockaddr_un::sun_path), 'x')}}};
  CHECK(SystemdNotifier::fromEnvironment(tooLong.lookup(), ::getpid()) == nullptr);
}

TEST_CASE("sends each state as one datagram to a socket at a path, with our credentials") {
  TempDir dir;
  std::string path = dir.path() + "/notify";
  Receiver receiver(path);
  Env env{{{"NOTIFY_SOCKET", path}}};
  auto notifier = SystemdNotifier::fromEnvironment(env.lookup(), ::getpid());
  REQUIRE(notifier != nullptr);

  for (const char* state : {"READY=1", "STATUS=2 of 2 resources registered", "WATCHDOG=1",
                            "RELOADING=1", "STOPPING=1", "READY=1\nSTATUS=reloaded"}) {
    REQUIRE(notifier->notify(state));
    auto got = receiver.receive();
    REQUIRE(got.has_value());
    CHECK(got->payload == state);
    CHECK(got->pid == ::getpid());
  }
}

TEST_CASE("sends to an abstract socket named with '@'") {
  std::string name = uniqueAbstractName();
  Receiver receiver(name);
  Env env{{{"NOTIFY_SOCKET", name}}};
  auto notifier = SystemdNotifier::fromEnvironment(env.lookup(), ::getpid());
  REQUIRE(notifier != nullptr);
  REQUIRE(notifier->notify("READY=1"));
  auto got = receiver.receive();
  REQUIRE(got.has_value());
  CHECK(got->payload == "READY=1");

  // The length of an abstract address is part of the name: a longer name is another socket.
  Env other{{{"NOTIFY_SOCKET", name + "x"}}};
  auto stranger = SystemdNotifier::fromEnvironment(other.lookup(), ::getpid());
  REQUIRE(stranger != nullptr);
  CHECK_FALSE(stranger->notify("READY=1"));
  CHECK_FALSE(receiver.receive(50ms).has_value());
}

TEST_CASE("a missing receiver is reported, not fatal") {
  TempDir dir;
  Env env{{{"NOTIFY_SOCKET", dir.path() + "/nobody"}}};
  auto notifier = SystemdNotifier::fromEnvironment(env.lookup(), ::getpid());
  REQUIRE(notifier != nullptr);
  CHECK_FALSE(notifier->notify("READY=1"));
}

TEST_CASE("a receiver that stops reading never blocks the sender") {
  TempDir dir;
  std::string path = dir.path() + "/notify";
  Receiver receiver(path);
  Env env{{{"NOTIFY_SOCKET", path}}};
  auto notifier = SystemdNotifier::fromEnvironment(env.lookup(), ::getpid());
  REQUIRE(notifier != nullptr);
  // The receive queue holds net.unix.max_dgram_qlen datagrams (512 by default) or its buffer's
  // worth; past that a blocking send would wait forever. This loop must end quickly instead.
  auto start = std::chrono::steady_clock::now();
  int sent = 0;
  while (notifier->notify("WATCHDOG=1") && sent < 100000) ++sent;
  CHECK(sent < 100000);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  // Once the receiver reads again, messages flow again.
  REQUIRE(receiver.receive().has_value());
  CHECK(notifier->notify("STATUS=caught up"));
}

TEST_CASE("the watchdog interval comes from WATCHDOG_USEC, for our PID only") {
  TempDir dir;
  std::string path = dir.path() + "/notify";
  Receiver receiver(path);
  pid_t self = ::getpid();
  auto interval = [&](std::map<std::string, std::string> values) {
    values["NOTIFY_SOCKET"] = path;
    Env env{values};
    auto notifier = SystemdNotifier::fromEnvironment(env.lookup(), self);
    REQUIRE(notifier != nullptr);
    return notifier->watchdogInterval();
  };
  CHECK(interval({}) == std::nullopt);
  CHECK(interval({{"WATCHDOG_USEC", "200000"}}) == std::chrono::microseconds(200000));
  CHECK(interval({{"WATCHDOG_USEC", "30000000"}, {"WATCHDOG_PID", std::to_string(self)}}) ==
        std::chrono::seconds(30));
  // Set for another process: our parent's, inherited through the environment.
  CHECK(interval({{"WATCHDOG_USEC", "200000"}, {"WATCHDOG_PID", std::to_string(self + 1)}}) ==
        std::nullopt);
  CHECK(interval({{"WATCHDOG_USEC", "200000"}, {"WATCHDOG_PID", "self"}}) == std::nullopt);
  CHECK(interval({{"WATCHDOG_USEC", "0"}}) == std::nullopt);
  CHECK(interval({{"WATCHDOG_USEC", "-5"}}) == std::nullopt);
  CHECK(interval({{"WATCHDOG_USEC", "200ms"}}) == std::nullopt);
  CHECK(interval({{"WATCHDOG_USEC", ""}}) == std::nullopt);
}

TEST_CASE("fromEnvironment() reads the process environment") {
  std::string name = uniqueAbstractName();
  Receiver receiver(name);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "1000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  auto notifier = SystemdNotifier::fromEnvironment();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  REQUIRE(notifier != nullptr);
  CHECK(notifier->watchdogInterval() == std::chrono::seconds(1));
  REQUIRE(notifier->notify("WATCHDOG=1"));
  auto got = receiver.receive();
  REQUIRE(got.has_value());
  CHECK(got->payload == "WATCHDOG=1");
}
