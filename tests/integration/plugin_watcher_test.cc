// registration: pluginWatcher end to end: the scripted plugin (the real daemon) against the
// grpc++ kubelet simulator in plugin-watcher mode, which does what the kubelet's plugin manager
// does with plugins_registry (docs/plugin-watcher.md): devices flow and Allocate works through
// the endpoint GetInfo names; a deleted registration socket comes back and registers again; a
// kubelet restart (device-plugins wiped, registration sockets dialled again) recovers; the
// kubelet dropping our connection makes us re-create the socket; a reload adds and removes
// registration sockets; a stop removes every socket.

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kubelet_rules.h"
#include "kubelet_sim.h"
#include "plugin_process.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::sim::isSocket;
using udp::testing::binaryFromEnv;
using udp::testing::idsAre;
using udp::testing::PluginProcess;
using udp::testing::readFile;
using udp::testing::TempDir;
using udp::testing::waitFor;

namespace {

constexpr const char* kFoo = "example.com/foo";
constexpr const char* kBar = "example.com/bar";
constexpr auto kWait = 10s;

struct WatcherRig {
  explicit WatcherRig(const std::vector<std::string>& resources) {
    writeConfig(resources);
    udp::sim::SimOptions options;
    options.dir = kubeletDir;
    options.pluginsRegistryDir = registryDir;
    sim = std::make_unique<udp::sim::KubeletSim>(options);
    REQUIRE(sim->start());
    plugin = std::make_unique<PluginProcess>(
        binaryFromEnv("SCRIPTED_PLUGIN"),
        std::vector<std::string>{"run", "--config", configPath, "--kubelet-dir", kubeletDir},
        logPath);
  }

  void writeConfig(const std::vector<std::string>& resources) {
    std::string text = "registration: pluginWatcher\npluginsRegistryDir: " + registryDir +
                       "\npluginSocketDir: " + socketDir + "\nresources:\n";
    for (const std::string& name : resources) {
      text += "  - name: " + name + "\n    match: [{subsystem: block}]\n";
    }
    tmp.write("config.yaml", text);
  }

  std::string registrationSocket(const std::string& file) const { return registryDir + "/" + file; }
  std::string log() const { return readFile(logPath); }
  bool registered(const std::string& socket) {
    auto sockets = sim->registeredSockets();
    return std::find(sockets.begin(), sockets.end(), socket) != sockets.end();
  }

  TempDir tmp;
  std::string kubeletDir = tmp.file("device-plugins");
  std::string registryDir = tmp.file("plugins_registry");
  std::string socketDir = tmp.file("plugins/udev-device-plugin");
  std::string configPath = tmp.file("config.yaml");
  std::string logPath = tmp.file("plugin.log");
  std::unique_ptr<udp::sim::KubeletSim> sim;
  std::unique_ptr<PluginProcess> plugin;  // after sim: stopped first
};

}  // namespace

TEST_CASE("plugin watcher: registered through plugins_registry; devices flow; Allocate works") {
  WatcherRig rig({kFoo});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  std::string reg = rig.registrationSocket("example.com_foo-reg.sock");
  CHECK(isSocket(reg));
  auto info = rig.sim->plugin(kFoo);
  REQUIRE(info.has_value());
  // The endpoint is absolute: the kubelet dials it as given.
  CHECK(info->endpoint == rig.socketDir + "/example.com_foo.sock");
  CHECK(info->registrationSocket == reg);
  CHECK(isSocket(info->endpoint));
  // Nothing in the kubelet's device-plugin directory but kubelet.sock.
  CHECK_FALSE(isSocket(rig.kubeletDir + "/example.com_foo.sock"));
  // The plugin heard NotifyRegistrationStatus(true) and counts itself registered.
  REQUIRE(waitFor([&] { return rig.sim->registrationNotices() >= 1; }, kWait));
  REQUIRE_MESSAGE(waitFor(
                      [&] {
                        return rig.log().find("registered with the kubelet (plugin watcher)") !=
                               std::string::npos;
                      },
                      kWait),
                  rig.log());
  CHECK(rig.log().find(R"("event":"registration","resource":"example.com/foo","result":"ok")") !=
        std::string::npos);

  REQUIRE(
      rig.plugin->send("add example.com/foo dev0 devnode=/dev/null\n"
                       "add example.com/foo dev1 devnode=/dev/zero"));
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1"}), kWait));
  v1beta1::AllocateResponse response;
  grpc::Status status = rig.sim->allocate(kFoo, {"dev1"}, &response);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  REQUIRE(response.container_responses_size() == 1);
  REQUIRE(response.container_responses(0).devices_size() == 1);
  CHECK(response.container_responses(0).devices(0).host_path() == "/dev/zero");
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("plugin watcher: a deleted registration socket is re-created and registers again") {
  WatcherRig rig({kFoo});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  REQUIRE(rig.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait));
  std::string reg = rig.registrationSocket("example.com_foo-reg.sock");
  for (int round = 2; round <= 4; ++round) {
    CAPTURE(round);
    REQUIRE(::unlink(reg.c_str()) == 0);
    REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, round, kWait), rig.log());
    CHECK(isSocket(reg));
    // The new ListAndWatch starts with the whole list.
    REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait));
  }
  // Re-created at once, not only once the kubelet's unregistration closed our connection.
  CHECK_MESSAGE(rig.log().find("closed our ListAndWatch") == std::string::npos, rig.log());

  // With the kubelet away nothing but our own watch brings the socket back.
  rig.sim->stop();
  REQUIRE_MESSAGE(
      waitFor([&] { return rig.log().find("registration socket re-created") != std::string::npos; },
              kWait),
      rig.log());
  REQUIRE(::unlink(reg.c_str()) == 0);
  REQUIRE_MESSAGE(waitFor([&] { return isSocket(reg); }, kWait), rig.log());
  REQUIRE(rig.sim->start());
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 5, kWait), rig.log());
  CHECK(rig.log().find("our registration socket was removed") != std::string::npos);
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("plugin watcher: a kubelet restart wipes device-plugins and dials the sockets again") {
  WatcherRig rig({kFoo, kBar});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kBar, 1, kWait), rig.log());
  REQUIRE(rig.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait));
  for (int round = 2; round <= 3; ++round) {
    CAPTURE(round);
    REQUIRE(rig.sim->restart());
    REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, round, kWait), rig.log());
    REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kBar, round, kWait), rig.log());
    // Our endpoints live outside the wiped directory.
    CHECK(isSocket(rig.socketDir + "/example.com_foo.sock"));
    std::string id = "dev" + std::to_string(round);
    REQUIRE(rig.plugin->send("add example.com/foo " + id + " devnode=/dev/zero"));
    std::vector<std::string> expected{"dev0"};
    for (int k = 2; k <= round; ++k) expected.push_back("dev" + std::to_string(k));
    REQUIRE_MESSAGE(rig.sim->waitForDevices(kFoo, idsAre(expected), kWait), rig.log());
  }
  v1beta1::AllocateResponse response;
  CHECK(rig.sim->allocate(kFoo, {"dev0"}, &response).ok());
  CHECK(rig.plugin->waitExit(0) == -1);
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("plugin watcher: the kubelet drops our connection: the socket is re-created") {
  WatcherRig rig({kFoo});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  REQUIRE(rig.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait));
  // The kubelet holds the socket as registered and never dials again by itself: only a new
  // socket file brings it back.
  REQUIRE(rig.sim->dropConnection(kFoo));
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 2, kWait), rig.log());
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait));
  CHECK(rig.log().find("re-creating the registration socket") != std::string::npos);
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("plugin watcher: a reload adds and removes registration sockets") {
  WatcherRig rig({kFoo});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  std::string fooReg = rig.registrationSocket("example.com_foo-reg.sock");
  std::string barReg = rig.registrationSocket("example.com_bar-reg.sock");
  CHECK_FALSE(isSocket(barReg));

  rig.writeConfig({kFoo, kBar});
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kBar, 1, kWait), rig.log());
  CHECK(isSocket(barReg));
  CHECK(rig.sim->plugin(kFoo)->registrations == 1);  // unchanged: kept its registration

  rig.writeConfig({kBar});
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(waitFor([&] { return !isSocket(fooReg) && !rig.registered(fooReg); }, kWait),
                  rig.log());
  CHECK_FALSE(isSocket(rig.socketDir + "/example.com_foo.sock"));
  CHECK(rig.sim->waitForStreamEnded(kFoo, kWait));  // the kubelet unregistered it
  CHECK(rig.registered(barReg));
  CHECK(rig.sim->plugin(kBar)->streaming);
  CHECK(rig.plugin->terminate() == 0);
}

TEST_CASE("plugin watcher: a stop removes the registration and device-plugin sockets") {
  WatcherRig rig({kFoo, kBar});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kBar, 1, kWait), rig.log());
  CHECK(rig.plugin->terminate() == 0);
  for (const char* file : {"example.com_foo-reg.sock", "example.com_bar-reg.sock"}) {
    CAPTURE(file);
    CHECK_FALSE(isSocket(rig.registrationSocket(file)));
  }
  for (const char* file : {"example.com_foo.sock", "example.com_bar.sock"}) {
    CAPTURE(file);
    CHECK_FALSE(isSocket(rig.socketDir + "/" + file));
  }
  // The kubelet saw the sockets go and unregistered both.
  CHECK(waitFor([&] { return rig.sim->registeredSockets().empty(); }, kWait));
  CHECK_MESSAGE(rig.log().find("fatal") == std::string::npos, rig.log());
}
