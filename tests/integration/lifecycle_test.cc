// Lifecycle paths of issue "Lifecycle correctness", end to end: the scripted plugin against the
// grpc++ kubelet simulator. Each case failed before its fix:
// - a reload while the kubelet is away, removing one resource and changing the other (a
//   use-after-free of the retired runtime's cancelled accept, seen under ASan);
// - the kubelet closing the ListAndWatch connection without restarting (the plugin never
//   registered again: the node lost the resource);
// - a device gone while no source listened, then a reload (it stayed advertised);
// - SIGHUP before the daemon started (its default action killed the process);
// - a reload that changes a resource, against a v1.34 kubelet's one client per resource name
//   (the new Register went out while the kubelet still held the old client: the end of the old
//   stream disconnected the new one, and the plugin's stop then left its devices allocatable).

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "scripted_rig.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::testing::idsAre;
using udp::testing::PluginProcess;
using udp::testing::ScriptedRig;
using udp::testing::waitFor;

namespace {

constexpr const char* kFoo = "example.com/foo";
constexpr const char* kBar = "example.com/bar";
constexpr auto kWait = 5s;

const char* const kTwoResources = R"(resources:
  - name: example.com/foo
    match: [{subsystem: block}]
  - name: example.com/bar
    match: [{subsystem: tty}]
)";

TEST_CASE("reload while the kubelet is away: one resource removed, one changed") {
  ScriptedRig rig(kTwoResources, {.captureLog = true});
  rig.startWithFooAndBarDevices();
  rig.sim->stop();  // the kubelet goes away; its socket goes with it
  // The plugin has seen the kubelet go (the stream closed, or kubelet.sock removed).
  REQUIRE(waitFor(
      [&] {
        std::string log = rig.log();
        return log.find("closed our ListAndWatch") != std::string::npos ||
               log.find("waiting for the kubelet") != std::string::npos;
      },
      kWait));
  rig.tmp.write("config.yaml", R"(resources:
  - name: example.com/foo
    match: [{subsystem: block}]
    env: {CHANGED: "yes"}
)");
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(
      waitFor([&] { return rig.log().find("reload: 1 resources") != std::string::npos; }, kWait),
      rig.log());
  // The retired runtimes' cancelled ops complete after the reload; more turns go by while the
  // kubelet is away. Then it comes back.
  REQUIRE(rig.plugin->send("add example.com/foo dev2 devnode=/dev/full"));
  REQUIRE(rig.sim->start());
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 2, kWait), rig.log());
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), kWait));
  CHECK(rig.sim->plugin(kBar)->registrations == 1);  // never again: it is gone
  CHECK(rig.plugin->waitExit(0) == -1);
  CHECK(rig.plugin->terminate() == 0);
  CHECK_MESSAGE(rig.log().find("fatal") == std::string::npos, rig.log());
}

TEST_CASE("the kubelet drops the ListAndWatch connection without restarting: register again") {
  ScriptedRig rig(kTwoResources, {.captureLog = true});
  rig.startWithFooAndBarDevices();
  for (int round = 2; round <= 4; ++round) {
    CAPTURE(round);
    REQUIRE(rig.sim->dropConnection(kFoo));
    // kubelet.sock and our socket stay; the kubelet will not dial again by itself.
    REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, round, kWait), rig.log());
    REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1"}), kWait));
    CHECK(waitFor([&] { return rig.sim->plugin(kFoo)->streaming; }, kWait));
  }
  // bar was not touched.
  CHECK(rig.sim->plugin(kBar)->registrations == 1);
  CHECK(rig.sim->plugin(kBar)->streaming);
  std::string log = rig.log();
  CHECK(log.find("the kubelet closed our ListAndWatch connection; registering again in 100 ms") !=
        std::string::npos);
  // Backoff: the second and third drops in a row wait longer.
  CHECK(log.find("registering again in 200 ms") != std::string::npos);
  CHECK(log.find("registering again in 400 ms") != std::string::npos);
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("after a reload every kept resource's inventory equals a fresh scan") {
  ScriptedRig rig(kTwoResources, {.captureLog = true});
  rig.startWithFooAndBarDevices();
  // dev1 leaves while no source would see it go (as between the old source's stop and the
  // new one's start); bar's config changes, foo's does not.
  REQUIRE(rig.plugin->send("vanish example.com/foo dev1\nadd example.com/bar tty1"));
  // tty1 arriving shows the script line before it was read too.
  REQUIRE(rig.sim->waitForDevices(kBar, idsAre({"tty0", "tty1"}), kWait));
  rig.tmp.write("config.yaml", std::string(kTwoResources) + "    env: {B: x}\n");
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait), rig.log());
  CHECK(rig.sim->plugin(kFoo)->registrations == 1);  // kept: the same registration and stream
  REQUIRE(rig.sim->waitForRegistrations(kBar, 2, kWait));
  REQUIRE(rig.sim->waitForDevices(kBar, idsAre({"tty0", "tty1"}), kWait));
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("SIGHUP before the daemon started is handled, not fatal") {
  ScriptedRig rig(kTwoResources, {.captureLog = true});
  // The config is a FIFO at first: the plugin blocks reading it, before anything is started.
  std::string path = rig.configPath;
  std::string regular = rig.tmp.file("config.regular");
  rig.tmp.write("config.regular", kTwoResources);
  REQUIRE(unlink(path.c_str()) == 0);
  REQUIRE(mkfifo(path.c_str(), 0600) == 0);
  rig.startPlugin();
  // A writer may open the FIFO without blocking only once the plugin has opened it to read.
  int fd = -1;
  REQUIRE(waitFor([&] { return (fd = open(path.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }, kWait));
  // Held still while the FIFO gets its contents and a regular file replaces it (for the
  // checksum and the reload that read the path again), then SIGHUP arrives.
  REQUIRE(kill(rig.plugin->pid(), SIGSTOP) == 0);
  REQUIRE(write(fd, kTwoResources, strlen(kTwoResources)) ==
          static_cast<ssize_t>(strlen(kTwoResources)));
  close(fd);
  REQUIRE(rename(regular.c_str(), path.c_str()) == 0);
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE(kill(rig.plugin->pid(), SIGCONT) == 0);
  CHECK_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  CHECK(rig.sim->waitForRegistrations(kBar, 1, kWait));
  // The queued SIGHUP is a reload once the loop runs.
  CHECK_MESSAGE(
      waitFor(
          [&] { return rig.log().find("reload: 2 resources, 2 unchanged") != std::string::npos; },
          kWait),
      rig.log());
  CHECK(rig.plugin->waitExit(0) == -1);
  CHECK(rig.plugin->terminate() == 0);
}

}  // namespace

namespace {

TEST_CASE("a reload that changes a resource: a v1.34 kubelet keeps its new client") {
  // The order the real v1.34.4 kubelet showed when the plugin registered at once: the new
  // client registered, then the old stream's end acted on, then the new client connected.
  ScriptedRig rig(kTwoResources, {.captureLog = true,
                                  .oneClientPerName = true,
                                  .runClientDelay = 100ms,
                                  .connectDelay = 300ms});
  rig.startWithFooAndBarDevices();
  rig.tmp.write("config.yaml", std::string(kTwoResources) + "    env: {B: x}\n");
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kBar, 2, kWait), rig.log());
  // The new client is the one the kubelet holds, and it streams the device as healthy.
  auto tracked = [&] {
    auto info = rig.sim->plugin(kBar);
    return info && info->clientRegistered && info->streaming && info->allocatable == 1;
  };
  CHECK_MESSAGE(waitFor(tracked, kWait), rig.log());
  // The stream of the kept resource was not touched.
  CHECK(rig.sim->plugin(kFoo)->registrations == 1);
  CHECK(rig.sim->plugin(kFoo)->allocatable == 2);
  // The plugin stops: the kubelet marks the devices unhealthy (allocatable drops to 0).
  CHECK(rig.plugin->terminate() == 0);
  CHECK(waitFor([&] { return rig.sim->plugin(kBar)->allocatable == 0; }, kWait));
  CHECK(waitFor([&] { return rig.sim->plugin(kFoo)->allocatable == 0; }, kWait));
  CHECK_MESSAGE(rig.log().find("registering anyway") == std::string::npos, rig.log());
}

TEST_CASE(
    "a reload that changes a resource: a kubelet that keeps the old connection delays it 2 s") {
  ScriptedRig rig(kTwoResources,
                  {.captureLog = true, .oneClientPerName = true, .runClientDelay = 4s});
  rig.startWithFooAndBarDevices();
  rig.tmp.write("config.yaml", std::string(kTwoResources) + "    env: {B: x}\n");
  auto reloaded = std::chrono::steady_clock::now();
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kBar, 2, kWait), rig.log());
  CHECK(std::chrono::steady_clock::now() - reloaded >= 2s);
  CHECK_MESSAGE(rig.log().find("did not close the replaced runtime's connections within 2 s; "
                               "registering anyway resource=example.com/bar") != std::string::npos,
                rig.log());
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("a stop while a reload waits for the kubelet: the new runtime never registers") {
  ScriptedRig rig(kTwoResources,
                  {.captureLog = true, .oneClientPerName = true, .runClientDelay = 1s});
  rig.startWithFooAndBarDevices();
  rig.tmp.write("config.yaml", std::string(kTwoResources) + "    env: {B: x}\n");
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(
      waitFor([&] { return rig.log().find("reload: 2 resources") != std::string::npos; }, kWait),
      rig.log());
  CHECK(rig.plugin->terminate() == 0);
  CHECK(rig.sim->plugin(kBar)->registrations == 1);
  CHECK_MESSAGE(rig.log().find("fatal") == std::string::npos, rig.log());
}

}  // namespace
