// A part of the plugin that fails on its own must say so where operators look, and retry until
// it works (DESIGN.md §5.9): here the kubelet directory watch, through the real daemon (the
// scripted plugin) and the grpc++ kubelet simulator. Its path becomes a file, so the directory
// can be neither made nor watched: /readyz answers 503 naming the watch, the metric drops, one
// error line is logged; once the path is free the watch recovers by itself, /readyz no longer
// names it and, with the kubelet back, answers 200.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "kubelet_sim.h"
#include "plugin_process.h"
#include "scripted_rig.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp::testing::httpGet;
using udp::testing::idsAre;
using udp::testing::ScriptedRig;
using udp::testing::waitFor;

namespace {

constexpr const char* kFoo = "example.com/foo";
constexpr auto kWait = 10s;

const char* const kConfig = R"(resources:
  - name: example.com/foo
    match: [{subsystem: block}]
)";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool pageHas(const std::string& metrics, const std::string& line) {
  return httpGet(metrics, "/metrics").body.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "the kubelet directory unwatchable: /readyz 503 naming it, a metric, a retry, 200 again") {
  ScriptedRig rig(kConfig, {.captureLog = true});
  const std::string metrics = rig.tmp.file("metrics.sock");
  rig.startPlugin({"--metrics-address", "unix:" + metrics});
  REQUIRE_MESSAGE(rig.sim->waitForRegistrations(kFoo, 1, kWait), rig.log());
  REQUIRE(rig.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0"}), kWait));
  REQUIRE_MESSAGE(waitFor([&] { return httpGet(metrics, "/readyz").status == 200; }, kWait),
                  rig.log());
  CHECK(pageHas(metrics, "udev_device_plugin_component_up{component=\"kubelet_dir_watch\"} 1"));
  CHECK(pageHas(metrics,
                "udev_device_plugin_component_failures_total{component=\"kubelet_dir_watch\"} 0"));

  // In one step the path becomes a file. The old directory lives on elsewhere with the kubelet's
  // socket and ours, so the registration and its stream still look fine: only the watch knows.
  const std::string blocker = rig.tmp.file("blocker");
  {
    std::FILE* f = std::fopen(blocker.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
  }
  REQUIRE(::renameat2(AT_FDCWD, blocker.c_str(), AT_FDCWD, rig.dir.c_str(), RENAME_EXCHANGE) == 0);
  udp::testing::HttpAnswer ready;
  REQUIRE_MESSAGE(waitFor(
                      [&] {
                        ready = httpGet(metrics, "/readyz");
                        return ready.status == 503;
                      },
                      kWait),
                  rig.log());
  CHECK(ready.body.find("not ready: kubelet_dir_watch: inotify_add_watch " + rig.dir +
                        ": Not a directory") == 0);
  CHECK(pageHas(metrics, "udev_device_plugin_component_up{component=\"kubelet_dir_watch\"} 0"));
  CHECK(pageHas(metrics,
                "udev_device_plugin_component_failures_total{component=\"kubelet_dir_watch\"} 1"));

  // The kubelet goes away too; then the path is free again. No event says so: the retry finds
  // out, makes the directory and serves in it.
  rig.sim->stop();
  REQUIRE(::unlink(rig.dir.c_str()) == 0);
  REQUIRE_MESSAGE(waitFor(
                      [&] {
                        return pageHas(
                            metrics,
                            "udev_device_plugin_component_up{component=\"kubelet_dir_watch\"} 1");
                      },
                      kWait),
                  rig.log());
  CHECK(std::filesystem::is_directory(rig.dir));
  udp::testing::HttpAnswer waiting = httpGet(metrics, "/readyz");
  CHECK(waiting.status == 503);  // no kubelet yet, but the watch is no longer named
  CHECK(waiting.body.find("kubelet_dir_watch") == std::string::npos);

  auto starting = Clock::now();
  REQUIRE(rig.sim->start());
  REQUIRE_MESSAGE(waitFor(
                      [&] {
                        auto info = rig.sim->plugin(kFoo);
                        return info && info->registeredAt >= starting;
                      },
                      kWait),
                  rig.log());
  CHECK_MESSAGE(waitFor([&] { return httpGet(metrics, "/readyz").status == 200; }, kWait),
                rig.log());
  CHECK(pageHas(metrics,
                "udev_device_plugin_component_failures_total{component=\"kubelet_dir_watch\"} 1"));

  std::string log = rig.log();
  CHECK(count(log, "cannot watch the kubelet directory; retrying with backoff") == 1);
  CHECK(count(log, "watching the kubelet directory again") == 1);
  CHECK(rig.plugin->terminate() == 0);
}
