// The kubelet directory watch on a real inotify fd and reactor (both backends): entries, the
// directory deleted under it, and a directory that cannot be watched again (its path now a
// file), which must fail once, retry with backoff, and recover by itself.

#include "kubelet/directory_watch.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../../support/temp_dir.h"

namespace udp::kubelet {
namespace {

using namespace std::chrono_literals;

struct Recorder final : DirectoryListener {
  std::vector<std::string> created, removed, downs;
  int resets = 0;
  int ups = 0;
  void onEntryCreated(std::string_view name) override { created.emplace_back(name); }
  void onEntryRemoved(std::string_view name) override { removed.emplace_back(name); }
  void onDirectoryReset() override { ++resets; }
  void onWatchUp() override { ++ups; }
  void onWatchDown(std::string_view cause) override { downs.emplace_back(cause); }
  bool sawCreated(const std::string& name) const {
    return std::find(created.begin(), created.end(), name) != created.end();
  }
};

using testing::TempDir;

std::unique_ptr<reactor::Reactor> makeReactor(reactor::Backend backend) {
  auto r = reactor::Reactor::create(backend, 64);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(*r);
}

bool runUntil(reactor::Reactor& reactor, const std::function<bool()>& done,
              std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    reactor.runOnce(10ms);
  }
  return true;
}

// Runs the reactor for `period`: for asserting that something does not happen.
void runFor(reactor::Reactor& reactor, std::chrono::milliseconds period) {
  auto deadline = std::chrono::steady_clock::now() + period;
  while (std::chrono::steady_clock::now() < deadline) reactor.runOnce(10ms);
}

void touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  ::close(fd);
}

void stopAndDrain(reactor::Reactor& reactor, DirectoryWatch& watch) {
  watch.stop();
  REQUIRE(runUntil(reactor, [&] { return watch.idle(); }));
}

reactor::Backend backendUnderTest() {
  reactor::Backend backend = reactor::Backend::kIoUring;
  SUBCASE("io_uring") {
    backend = reactor::Backend::kIoUring;
  }
  SUBCASE("epoll") {
    backend = reactor::Backend::kEpoll;
  }
  return backend;
}

TEST_CASE("directory watch: entries created and removed, the directory made when missing") {
  auto reactor = makeReactor(backendUnderTest());
  TempDir tmp;
  std::string dir = tmp.path() + "/a/device-plugins";
  Recorder rec;
  DirectoryWatch watch(*reactor, dir, rec);
  REQUIRE(watch.start().ok());
  CHECK(std::filesystem::is_directory(dir));
  CHECK(rec.ups == 1);
  touch(dir + "/kubelet.sock");
  REQUIRE(runUntil(*reactor, [&] { return rec.sawCreated("kubelet.sock"); }));
  ::unlink((dir + "/kubelet.sock").c_str());
  REQUIRE(runUntil(*reactor, [&] { return !rec.removed.empty(); }));
  CHECK(rec.removed.front() == "kubelet.sock");
  CHECK(rec.downs.empty());
  stopAndDrain(*reactor, watch);
}

TEST_CASE("directory watch: the directory deleted is made again at once, without a failure") {
  auto reactor = makeReactor(backendUnderTest());
  TempDir tmp;
  std::string dir = tmp.path() + "/device-plugins";
  Recorder rec;
  DirectoryWatch watch(*reactor, dir, rec);
  REQUIRE(watch.start().ok());
  std::filesystem::remove_all(dir);
  REQUIRE(runUntil(*reactor, [&] { return rec.resets > 0; }));
  CHECK(std::filesystem::is_directory(dir));
  CHECK(rec.downs.empty());
  CHECK(!watch.failing());
  touch(dir + "/kubelet.sock");
  REQUIRE(runUntil(*reactor, [&] { return rec.sawCreated("kubelet.sock"); }));
  stopAndDrain(*reactor, watch);
}

// The path becomes a regular file in one step (RENAME_EXCHANGE), so the watch cannot make the
// directory again: inotify_add_watch fails with ENOTDIR, and no event will ever say that the
// path is free again. Only a retry can find that out.
TEST_CASE("directory watch: unwatchable, it fails once, retries with backoff and recovers") {
  auto reactor = makeReactor(backendUnderTest());
  TempDir tmp;
  std::string dir = tmp.path() + "/device-plugins";
  std::string blocker = tmp.path() + "/blocker";
  Recorder rec;
  DirectoryWatch watch(*reactor, dir, rec, BackoffTiming{5ms, 40ms});
  REQUIRE(watch.start().ok());
  REQUIRE(rec.ups == 1);

  touch(blocker);
  REQUIRE(::renameat2(AT_FDCWD, blocker.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0);
  REQUIRE(runUntil(*reactor, [&] { return !rec.downs.empty(); }));
  CHECK(watch.failing());
  CHECK(rec.downs.front().find("Not a directory") != std::string::npos);
  CHECK(rec.downs.front().find(dir) != std::string::npos);

  // Several retries fail meanwhile (5, 10, 20, 40, 40 ms...): still one report of the failure.
  runFor(*reactor, 200ms);
  CHECK(rec.downs.size() == 1);
  CHECK(rec.ups == 1);
  CHECK(watch.failing());

  int resetsBefore = rec.resets;
  REQUIRE(::unlink(dir.c_str()) == 0);  // the path is free: the next retry makes the directory
  REQUIRE(runUntil(*reactor, [&] { return rec.ups == 2; }));
  CHECK(!watch.failing());
  CHECK(rec.resets > resetsBefore);  // what happened meanwhile went unseen: re-check all
  CHECK(std::filesystem::is_directory(dir));
  touch(dir + "/kubelet.sock");
  REQUIRE(runUntil(*reactor, [&] { return rec.sawCreated("kubelet.sock"); }));

  // And a second failure is reported again, from the first backoff step.
  REQUIRE(::renameat2(AT_FDCWD, blocker.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0);
  std::filesystem::remove_all(blocker);  // now the old directory
  touch(blocker);
  REQUIRE(::renameat2(AT_FDCWD, blocker.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0);
  REQUIRE(runUntil(*reactor, [&] { return rec.downs.size() == 2; }));
  REQUIRE(::unlink(dir.c_str()) == 0);
  REQUIRE(runUntil(*reactor, [&] { return rec.ups == 3; }));
  stopAndDrain(*reactor, watch);
}

TEST_CASE("directory watch: stopped while failing, it goes idle") {
  auto reactor = makeReactor(backendUnderTest());
  TempDir tmp;
  std::string dir = tmp.path() + "/device-plugins";
  std::string blocker = tmp.path() + "/blocker";
  Recorder rec;
  DirectoryWatch watch(*reactor, dir, rec, BackoffTiming{1000ms, 1000ms});
  REQUIRE(watch.start().ok());
  touch(blocker);
  REQUIRE(::renameat2(AT_FDCWD, blocker.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0);
  REQUIRE(runUntil(*reactor, [&] { return watch.failing(); }));
  CHECK(!watch.idle());  // the retry timer is pending
  stopAndDrain(*reactor, watch);
  CHECK(rec.ups == 1);
}

}  // namespace
}  // namespace udp::kubelet
