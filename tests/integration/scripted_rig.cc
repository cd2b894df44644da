#include "scripted_rig.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "test_helpers.h"

namespace udp::testing {

ScriptedRig::ScriptedRig(const std::string& config, RigOptions options) {
  tmp.write("config.yaml", config);
  if (options.captureLog) logPath = tmp.file("plugin.log");
  mkdir(dir.c_str(), 0755);
  sim::SimOptions simOptions;
  simOptions.dir = dir;
  simOptions.authority = std::move(options.authority);
  simOptions.oneClientPerName = options.oneClientPerName;
  simOptions.runClientDelay = options.runClientDelay;
  simOptions.connectDelay = options.connectDelay;
  sim = std::make_unique<sim::KubeletSim>(simOptions);
  if (options.startSim) REQUIRE(sim->start());
}

void ScriptedRig::startPlugin(const std::vector<std::string>& extraArgs) {
  std::vector<std::string> args{"run", "--config", configPath, "--kubelet-dir", dir};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  plugin = std::make_unique<PluginProcess>(binaryFromEnv("SCRIPTED_PLUGIN"), args, logPath);
}

void ScriptedRig::startWithFooAndBarDevices() {
  constexpr auto kWait = std::chrono::seconds(5);
  startPlugin();
  REQUIRE(sim->waitForRegistrations("example.com/foo", 1, kWait));
  REQUIRE(sim->waitForRegistrations("example.com/bar", 1, kWait));
  REQUIRE(
      plugin->send("add example.com/foo dev0 devnode=/dev/null\n"
                   "add example.com/foo dev1 devnode=/dev/zero\n"
                   "add example.com/bar tty0 devnode=/dev/tty"));
  REQUIRE(sim->waitForDevices("example.com/foo", idsAre({"dev0", "dev1"}), kWait));
  REQUIRE(sim->waitForDevices("example.com/bar", idsAre({"tty0"}), kWait));
}

std::string ScriptedRig::socketOf(const std::string& resource) {
  auto info = sim->plugin(resource);
  REQUIRE(info.has_value());
  return dir + "/" + info->endpoint;
}

std::string ScriptedRig::log() const {
  return logPath.empty() ? std::string() : readFile(logPath);
}

}  // namespace udp::testing
