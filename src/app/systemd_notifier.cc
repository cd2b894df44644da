#include "app/systemd_notifier.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstring>

namespace udp::app {
namespace {

// A whole decimal number, nothing around it; nullopt otherwise.
std::optional<unsigned long long> parseUnsigned(const char* text) {
  if (text == nullptr) return std::nullopt;
  std::string_view view(text);
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (ec != std::errc() || end != view.data() + view.size() || view.empty()) return std::nullopt;
  return value;
}

std::optional<std::chrono::microseconds> watchdogFrom(const SystemdNotifier::EnvLookup& env,
                                                      pid_t self) {
  std::optional<unsigned long long> usec = parseUnsigned(env("WATCHDOG_USEC"));
  if (!usec || *usec == 0) return std::nullopt;
  if (const char* pidText = env("WATCHDOG_PID")) {
    std::optional<unsigned long long> pid = parseUnsigned(pidText);
    if (!pid || *pid != static_cast<unsigned long long>(self)) return std::nullopt;
  }
  return std::chrono::microseconds(*usec);
}

}  // namespace

std::unique_ptr<SystemdNotifier> SystemdNotifier::fromEnvironment() {
  return fromEnvironment([](const char* name) { return ::getenv(name); }, ::getpid());
}

std::unique_ptr<SystemdNotifier> SystemdNotifier::fromEnvironment(const EnvLookup& env,
                                                                  pid_t self) {
  const char* socketName = env("NOTIFY_SOCKET");
  if (socketName == nullptr) return nullptr;
  std::string_view name(socketName);
  // A filesystem path, or an abstract name written with a leading '@' (systemd's spelling). The
  // abstract name's length is part of the address, so it carries no terminating NUL; a path's
  // does, as sd_notify sends it.
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (name.size() < 2 || (name[0] != '/' && name[0] != '@') ||
      name.size() >= sizeof address.sun_path || name.find('\0') != std::string_view::npos) {
    return nullptr;
  }
  memcpy(address.sun_path, name.data(), name.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@') {
    address.sun_path[0] = '\0';
  } else {
    ++length;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return nullptr;
  return std::unique_ptr<SystemdNotifier>(
      new SystemdNotifier(std::move(fd), address, length, watchdogFrom(env, self)));
}

bool SystemdNotifier::notify(std::string_view state) {
  // The address on every send rather than connect() once: systemd may re-create its socket
  // (daemon-reexec), and an unconnected datagram socket simply finds the new one.
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address_), length_);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(state.size());
}

}  // namespace udp::app
