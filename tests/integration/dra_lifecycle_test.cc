// The DRA driver's lifecycle in the real daemon (the scripted plugin: devices from its stdin)
// against the Go stand-in for the API server (tests/support/kubeapi-server) and the grpc++
// kubelet client: the pool published and republished, a reload that changes the driver, a stop
// with a NodePrepareResources in flight, the API server away and back, slices deleted behind the
// driver's back. Every case ends with a SIGTERM that must exit 0: under the sanitizers
// (tests/sanitize) a leak or an error report fails it. Runs once per reactor backend
// (UDP_TEST_REACTOR, see meson.build); without Go the binary exits 77 (SKIP).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dra_kubelet_client.h"
#include "kubeapi_server_process.h"
#include "plugin_process.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::testing::httpGet;
using udp::testing::KubeApiServer;
using udp::testing::PluginProcess;
using udp::testing::TempDir;
using udp::testing::waitFor;
namespace drapb = udp::sim::drapb;

namespace {

constexpr auto kWait = 10s;
constexpr const char* kDriver = "udev.example.com";
constexpr const char* kSlices = "/apis/resource.k8s.io/v1/resourceslices";
constexpr const char* kClaims = "/apis/resource.k8s.io/v1/namespaces/";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// One driver's pool as the API server holds it.
struct Pool {
  size_t slices = 0;
  int64_t generation = -1;  // the highest of its slices'
  std::set<std::string> devices;
  std::set<std::string> names;  // of the slices
};

// The value of the sample line that starts with `series` on a metrics page, or -1.
double sample(const std::string& page, const std::string& series) {
  size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  at += series.size() + 2;
  return std::stod(page.substr(at, page.find('\n', at) - at));
}

// The API server, the daemon's directories and config, the daemon.
struct DraRig {
  TempDir tmp;
  std::string apiDir = tmp.file("api");
  std::string kubeletDir = tmp.file("device-plugins");
  std::string registry = tmp.file("plugins_registry");
  std::string pluginDir = tmp.file("plugins");
  std::string metrics = tmp.file("metrics.sock");
  std::string configPath = tmp.file("config.yaml");
  std::string logPath = tmp.file("plugin.log");
  std::unique_ptr<KubeApiServer> api;
  std::unique_ptr<PluginProcess> plugin;

  DraRig() {
    for (const std::string& d : {apiDir, kubeletDir, registry, pluginDir}) mkdir(d.c_str(), 0755);
    api = std::make_unique<KubeApiServer>(udp::testing::kubeApiServerBinary(), apiDir);
  }
  ~DraRig() {
    if (plugin && plugin->running()) plugin->terminate();
  }

  // foo and bar, each served as `fooServe` / `barServe` says, by driver `driver`.
  void writeConfig(const std::string& driver = kDriver, const std::string& fooServe = "dra",
                   const std::string& barServe = "dra") {
    std::string text = R"(cdiDir: @TMP@/cdi
dra:
  driverName: @DRIVER@
  kubeconfig: @API@/kubeconfig-cert
  nodeName: node-1
  pluginsRegistryDir: @TMP@/plugins_registry
  pluginDir: @TMP@/plugins
resources:
  - name: example.com/foo
    match: [{subsystem: block}]
    serve: @FOO@
  - name: example.com/bar
    match: [{subsystem: tty}]
    serve: @BAR@
)";
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"@TMP@", tmp.path()},
                                     {"@API@", apiDir},
                                     {"@DRIVER@", driver},
                                     {"@FOO@", fooServe},
                                     {"@BAR@", barServe}}) {
      for (size_t at; (at = text.find(key)) != std::string::npos;)
        text.replace(at, key.size(), value);
    }
    tmp.write("config.yaml", text);
  }

  void start() {
    plugin = std::make_unique<PluginProcess>(
        udp::testing::binaryFromEnv("SCRIPTED_PLUGIN"),
        std::vector<std::string>{"run", "--config", configPath, "--kubelet-dir", kubeletDir,
                                 "--metrics-address", "unix:" + metrics},
        logPath);
  }

  // Starts the daemon with foo's dev0 and dev1 and bar's tty0, and waits for their pool.
  void startWithDevices() {
    writeConfig();
    start();
    REQUIRE(
        plugin->send("add example.com/foo dev0 devnode=/dev/null\n"
                     "add example.com/foo dev1 devnode=/dev/zero\n"
                     "add example.com/bar tty0 devnode=/dev/tty"));
    REQUIRE_MESSAGE(waitForDevices(kDriver, {"foo-dev0", "foo-dev1", "bar-tty0"}), log());
  }

  // The pool of `driver` on node-1, from the server's store.
  Pool pool(const std::string& driver = kDriver) {
    std::string answer = api->command(std::string("list ") + kSlices);
    REQUIRE(answer.rfind("LIST ", 0) == 0);
    rapidjson::Document doc;
    doc.Parse(answer.c_str() + 5);
    REQUIRE(doc.IsArray());
    Pool out;
    for (const auto& slice : doc.GetArray()) {
      const auto& spec = slice["spec"];
      if (std::string(spec["driver"].GetString()) != driver) continue;
      CHECK(std::string(spec["nodeName"].GetString()) == "node-1");
      CHECK(std::string(spec["pool"]["name"].GetString()) == "node-1");
      ++out.slices;
      out.names.insert(slice["metadata"]["name"].GetString());
      out.generation = std::max(out.generation, spec["pool"]["generation"].GetInt64());
      if (!spec.HasMember("devices")) continue;
      for (const auto& device : spec["devices"].GetArray())
        out.devices.insert(device["name"].GetString());
    }
    return out;
  }

  bool waitForDevices(const std::string& driver, const std::set<std::string>& devices) {
    return waitFor([&] { return pool(driver).devices == devices; }, kWait);
  }

  // The kubelet's plugin watcher, in small: GetInfo, then "registered".
  void registerDriver(const std::string& driver = kDriver) {
    std::string socket = registry + "/" + driver + "-reg.sock";
    pluginregistration::PluginInfo info;
    REQUIRE(waitFor([&] { return udp::sim::draGetInfo(socket, info).ok(); }, kWait));
    CHECK(info.name() == driver);
    REQUIRE(udp::sim::draNotifyRegistration(socket, true, "").ok());
  }

  std::string metricsPage() { return httpGet(metrics, "/metrics").body; }
  std::string log() const { return udp::testing::readFile(logPath); }

  // SIGTERM: a prompt exit 0, and no sanitizer report in the log.
  void stopCleanly(int timeoutMs = 5000) {
    int status = plugin->terminate(timeoutMs);
    std::string text = log();
    CHECK_MESSAGE(status == 0, text);
    CHECK_FALSE(contains(text, "Sanitizer"));
    CHECK_FALSE(contains(text, "runtime error"));
    // Everything in flight ended by itself, not cut off by the drain limit.
    CHECK_FALSE(contains(text, "did not drain in time"));
  }
};

}  // namespace

TEST_CASE("the pool is published at start and again, one generation up, on each change") {
  DraRig rig;
  rig.startWithDevices();
  Pool first = rig.pool();
  CHECK(first.slices == 1);
  CHECK(first.generation >= 1);

  REQUIRE(rig.plugin->send("add example.com/foo dev2 devnode=/dev/full"));
  REQUIRE_MESSAGE(rig.waitForDevices(kDriver, {"foo-dev0", "foo-dev1", "foo-dev2", "bar-tty0"}),
                  rig.log());
  Pool added = rig.pool();
  CHECK(added.generation > first.generation);

  REQUIRE(rig.plugin->send("remove example.com/foo dev0"));
  REQUIRE_MESSAGE(rig.waitForDevices(kDriver, {"foo-dev1", "foo-dev2", "bar-tty0"}), rig.log());
  CHECK(rig.pool().generation > added.generation);
  CHECK(rig.pool().slices == 1);
  rig.stopCleanly();
  // The slices stay for the next run to take over.
  CHECK(rig.pool().devices == std::set<std::string>{"foo-dev1", "foo-dev2", "bar-tty0"});
}

TEST_CASE("a restarted daemon takes its pool over: updated, not duplicated") {
  DraRig rig;
  rig.startWithDevices();
  int64_t before = rig.pool().generation;
  rig.stopCleanly();
  rig.start();
  REQUIRE(rig.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE_MESSAGE(rig.waitForDevices(kDriver, {"foo-dev0"}), rig.log());
  Pool after = rig.pool();
  CHECK(after.slices == 1);
  CHECK(after.generation > before);
  rig.stopCleanly();
}

TEST_CASE("reload with a resource moved from DRA to the device plugin: the pool drops it") {
  DraRig rig;
  rig.startWithDevices();
  Pool before = rig.pool();
  rig.writeConfig(kDriver, "dra", "devicePlugin");
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  // The new driver takes the pool over: the same slices, a generation above the old ones.
  REQUIRE_MESSAGE(rig.waitForDevices(kDriver, {"foo-dev0", "foo-dev1"}), rig.log());
  Pool after = rig.pool();
  CHECK(after.slices == before.slices);
  CHECK(after.generation > before.generation);
  CHECK(contains(rig.log(), "the DRA driver starts again"));
  // It still follows the devices.
  REQUIRE(rig.plugin->send("add example.com/foo dev2 devnode=/dev/full"));
  REQUIRE_MESSAGE(rig.waitForDevices(kDriver, {"foo-dev0", "foo-dev1", "foo-dev2"}), rig.log());
  rig.stopCleanly();
}

TEST_CASE("reload with another driver name: the new driver publishes, the old one unregisters") {
  DraRig rig;
  rig.startWithDevices();
  rig.registerDriver();
  Pool old = rig.pool();
  const std::string other = "other.example.com";
  rig.writeConfig(other);
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE_MESSAGE(rig.waitForDevices(other, {"foo-dev0", "foo-dev1", "bar-tty0"}), rig.log());
  rig.registerDriver(other);
  // The old driver's registration socket goes, so the kubelet unregisters it and wipes its
  // slices (the kubelet's job, not ours: a driver never deletes its pool when it stops); until
  // then the daemon leaves them alone.
  CHECK(waitFor([&] { return !exists(rig.registry + "/" + kDriver + "-reg.sock"); }, kWait));
  REQUIRE(rig.plugin->send("remove example.com/foo dev0"));
  REQUIRE_MESSAGE(rig.waitForDevices(other, {"foo-dev1", "bar-tty0"}), rig.log());
  Pool left = rig.pool();
  CHECK(left.generation == old.generation);
  CHECK(left.devices == old.devices);
  rig.stopCleanly();
}

TEST_CASE("SIGTERM while a NodePrepareResources waits for its claim: a prompt exit 0") {
  DraRig rig;
  rig.startWithDevices();
  rig.registerDriver();
  REQUIRE(rig.api->command(std::string("hold ") + kClaims) == "OK");
  udp::sim::DraKubeletClient client(rig.pluginDir + "/" + kDriver + "/dra.sock");
  drapb::NodePrepareResourcesRequest request;
  drapb::Claim* claim = request.add_claims();
  claim->set_namespace_("default");
  claim->set_name("held");
  claim->set_uid("uid-held");
  drapb::NodePrepareResourcesResponse response;
  auto call = std::async(std::launch::async, [&] { return client.prepare(request, response); });
  REQUIRE_MESSAGE(waitFor([&] { return rig.api->command("held") == "HELD 1"; }, kWait), rig.log());

  auto stopping = std::chrono::steady_clock::now();
  rig.stopCleanly();
  CHECK(std::chrono::steady_clock::now() - stopping < 3s);
  // The kubelet hears of it: UNAVAILABLE, which it retries against the next run.
  REQUIRE(call.wait_for(kWait) == std::future_status::ready);
  udp::sim::DraCallStatus status = call.get();
  CHECK_MESSAGE(status.code == 14, status.message);
  CHECK(rig.api->command("release") == "OK");
}

TEST_CASE("the API server away and back: 503 naming the driver, errors counted, pool caught up") {
  DraRig rig;
  rig.startWithDevices();
  rig.registerDriver();
  REQUIRE_MESSAGE(waitFor([&] { return httpGet(rig.metrics, "/readyz").status == 200; }, kWait),
                  httpGet(rig.metrics, "/readyz").body);
  double errors = sample(rig.metricsPage(), "udev_device_plugin_dra_api_errors_total");
  CHECK(errors >= 0);
  CHECK(sample(rig.metricsPage(), "udev_device_plugin_dra_api_connected") == 1);

  REQUIRE(rig.api->command("stop") == "OK");
  REQUIRE_MESSAGE(waitFor(
                      [&] {
                        auto ready = httpGet(rig.metrics, "/readyz");
                        return ready.status == 503 && contains(ready.body, "dra_driver");
                      },
                      kWait),
                  rig.log());
  CHECK(waitFor(
      [&] { return sample(rig.metricsPage(), "udev_device_plugin_dra_api_errors_total") > errors; },
      kWait));
  CHECK(sample(rig.metricsPage(), "udev_device_plugin_dra_api_connected") == 0);
  CHECK(contains(rig.log(), "DRA driver: API server"));
  // Changes while it is away are published once it is back.
  REQUIRE(
      rig.plugin->send("add example.com/foo dev2 devnode=/dev/full\n"
                       "remove example.com/bar tty0"));
  REQUIRE(rig.api->command("start") == "OK");
  REQUIRE_MESSAGE(
      waitFor(
          [&] {
            return rig.pool().devices == std::set<std::string>{"foo-dev0", "foo-dev1", "foo-dev2"};
          },
          40s),
      rig.log());
  REQUIRE_MESSAGE(waitFor([&] { return httpGet(rig.metrics, "/readyz").status == 200; }, 40s),
                  httpGet(rig.metrics, "/readyz").body);
  CHECK(sample(rig.metricsPage(), "udev_device_plugin_dra_api_connected") == 1);

  // A slice deleted behind the driver's back is put back, one generation up.
  Pool published = rig.pool();
  REQUIRE(published.names.size() == 1);
  REQUIRE(rig.api->command(std::string("delete ") + kSlices + "/" + *published.names.begin()) ==
          "OK");
  REQUIRE_MESSAGE(waitFor(
                      [&] {
                        Pool now = rig.pool();
                        return now.devices == published.devices &&
                               now.generation > published.generation;
                      },
                      kWait),
                  rig.log());
  rig.stopCleanly();
}

TEST_CASE("a reload that leaves nothing to DRA while the API server is away: /readyz forgets it") {
  DraRig rig;
  rig.startWithDevices();
  rig.registerDriver();
  REQUIRE(rig.api->command("stop") == "OK");
  REQUIRE_MESSAGE(
      waitFor([&] { return contains(httpGet(rig.metrics, "/readyz").body, "dra_driver"); }, kWait),
      rig.log());
  rig.writeConfig(kDriver, "devicePlugin", "devicePlugin");
  REQUIRE(kill(rig.plugin->pid(), SIGHUP) == 0);
  REQUIRE(waitFor([&] { return contains(rig.log(), "reload: 2 resources"); }, kWait));
  // No driver any more: nothing of it may keep the daemon unready.
  CHECK_MESSAGE(
      waitFor([&] { return !contains(httpGet(rig.metrics, "/readyz").body, "dra_driver"); }, kWait),
      httpGet(rig.metrics, "/readyz").body);
  // Nor report a connection that no longer exists: the driver's gauges go, its counters stay.
  std::string page = rig.metricsPage();
  CHECK_MESSAGE(!contains(page, "udev_device_plugin_dra_api_connected"), page);
  CHECK_MESSAGE(contains(page, "udev_device_plugin_dra_api_errors_total"), page);
  rig.stopCleanly();
}

int main(int argc, char** argv) {
  return udp::testing::runKubeApiServerTests(argc, argv);
}
