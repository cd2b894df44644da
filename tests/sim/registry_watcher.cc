#include "registry_watcher.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>

#include "kubelet_rules.h"

namespace udp::sim {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kFirstRetry = 500ms;  // goroutinemap exponentialbackoff
constexpr std::chrono::milliseconds kMaxRetry = 120s;

}  // namespace

RegistryWatcher::RegistryWatcher(std::string dir, Register registerSocket,
                                 Unregister unregisterSocket)
    : dir_(std::move(dir)),
      register_(std::move(registerSocket)),
      unregister_(std::move(unregisterSocket)) {}

RegistryWatcher::~RegistryWatcher() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stopFd_, &one, sizeof one);
    thread_.join();
  }
  if (inotify_ >= 0) ::close(inotify_);
  if (stopFd_ >= 0) ::close(stopFd_);
}

bool RegistryWatcher::start() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  inotify_ = inotify_init1(IN_CLOEXEC);
  stopFd_ = eventfd(0, EFD_CLOEXEC);
  if (inotify_ < 0 || stopFd_ < 0) return false;
  if (inotify_add_watch(inotify_, dir_.c_str(),
                        IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
    return false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void RegistryWatcher::created(const std::string& name) {
  if (name.empty() || name.front() == '.') return;
  std::string path = dir_ + "/" + name;
  if (!isSocket(path)) return;
  // A re-created socket is a new plugin to the kubelet (a new timestamp): unregister the old
  // one first, then register.
  unregister_(path);
  attempt(path, {Clock::now(), kFirstRetry});
}

void RegistryWatcher::attempt(const std::string& path, Pending pending) {
  retries_.erase(path);
  if (register_(path) != Outcome::kRetry) return;
  pending.due = Clock::now() + pending.delay;
  pending.delay = std::min(pending.delay * 2, kMaxRetry);
  retries_[path] = pending;
}

void RegistryWatcher::run() {
  // The kubelet's Start(): every socket already there is registered, as if just created.
  if (DIR* d = ::opendir(dir_.c_str())) {
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
    for (const std::string& name : names) created(name);
  }
  alignas(inotify_event) char buffer[8192];
  while (true) {
    int timeout = -1;
    for (const auto& [path, pending] : retries_) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(pending.due - Clock::now());
      int ms = static_cast<int>(std::clamp<long long>(wait.count(), 0, INT_MAX));
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    pollfd fds[2] = {{inotify_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0) continue;
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) {
      ssize_t n = ::read(inotify_, buffer, sizeof buffer);
      for (ssize_t at = 0; n > 0 && at < n;) {
        auto* event = reinterpret_cast<inotify_event*>(buffer + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        std::string name = event->len > 0 ? std::string(event->name) : std::string();
        if (event->mask & (IN_CREATE | IN_MOVED_TO)) {
          created(name);
        } else if (event->mask & (IN_DELETE | IN_MOVED_FROM)) {
          retries_.erase(dir_ + "/" + name);
          unregister_(dir_ + "/" + name);
        }
      }
    }
    auto now = Clock::now();
    std::vector<std::pair<std::string, Pending>> due;
    for (const auto& [path, pending] : retries_)
      if (pending.due <= now) due.emplace_back(path, pending);
    for (auto& [path, pending] : due) {
      if (isSocket(path)) {
        attempt(path, pending);
      } else {
        retries_.erase(path);
      }
    }
  }
}

}  // namespace udp::sim
