#pragma once

// The scripted plugin (tests/support: the real daemon, devices from its stdin) against the grpc++
// kubelet simulator, both in a fresh directory: the fixture of the tests that script devices.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kubelet_sim.h"
#include "plugin_process.h"

namespace udp::testing {

struct RigOptions {
  std::string authority{};  // SimOptions::authority ("" = grpc's default, "localhost")
  bool startSim = true;     // start the simulator in the constructor
  bool captureLog = false;  // the plugin's stderr goes to logPath (see log()) instead of ours
  // SimOptions' v1.34 client bookkeeping and its timing.
  bool oneClientPerName = false;
  std::chrono::milliseconds runClientDelay{0};
  std::chrono::milliseconds connectDelay{0};
};

// Members are public and declared so that the plugin goes first, then the simulator, then the
// directory.
struct ScriptedRig {
  // Writes `config` to configPath and makes dir; the plugin starts with startPlugin().
  explicit ScriptedRig(const std::string& config, RigOptions options = {});

  // The scripted plugin with --config configPath --kubelet-dir dir, then `extraArgs`.
  void startPlugin(const std::vector<std::string>& extraArgs = {});
  // For a config with example.com/foo (block) and example.com/bar (tty): starts the plugin, waits
  // for both to register, then scripts foo's dev0 (/dev/null) and dev1 (/dev/zero) and bar's
  // tty0 (/dev/tty) and waits until the simulator has both lists.
  void startWithFooAndBarDevices();
  // The path of the socket `resource` registered with (REQUIREs a registration).
  std::string socketOf(const std::string& resource);
  // What the plugin logged so far (captureLog only).
  std::string log() const;

  TempDir tmp;
  std::string dir = tmp.file("device-plugins");
  std::string configPath = tmp.file("config.yaml");
  std::string logPath;  // "" unless captureLog
  std::unique_ptr<sim::KubeletSim> sim;
  std::unique_ptr<PluginProcess> plugin;
};

}  // namespace udp::testing
