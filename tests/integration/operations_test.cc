// Accountable operation, end to end: the metrics page (checked by promtool), /readyz following
// the kubelet, the audit log, PodResources holders, and /describe of a live daemon validated
// against the published schema. The kubelet is the grpc++ simulator.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <thread>

#include "kubelet_sim.h"
#include "plugin_process.h"
#include "podresources.pb.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;
using udp::testing::PluginProcess;
using udp::testing::readFile;
using udp::testing::TempDir;
using udp::testing::waitFor;

namespace {

using udp::testing::HttpAnswer;
using udp::testing::httpGet;

constexpr const char* kFoo = "example.com/foo";

// The value of the first sample line that starts with `series`, or -1.
double sample(const std::string& page, const std::string& series) {
  size_t at = 0;
  while ((at = page.find(series, at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') {
      size_t space = page.find(' ', at + series.size());
      return std::stod(page.substr(space + 1, page.find('\n', space) - space - 1));
    }
    at += series.size();
  }
  return -1;
}

bool hasTool(const char* command) {
  return system((std::string("command -v ") + command + " >/dev/null 2>&1").c_str()) == 0;
}

struct Operated {
  TempDir tmp;
  std::string dir = tmp.file("device-plugins");
  std::string metrics = tmp.file("metrics.sock");
  std::string auditPath = tmp.file("audit.log");
  std::string podResources = tmp.file("pod-resources.sock");
  std::unique_ptr<KubeletSim> sim;
  std::unique_ptr<PluginProcess> plugin;

  Operated() {
    tmp.write("config.yaml",
              "resources:\n  - name: example.com/foo\n    match: [{subsystem: block}]\n");
    SimOptions options;
    options.dir = dir;
    options.podResourcesSocket = podResources;
    sim = std::make_unique<KubeletSim>(options);
  }

  void startPlugin() {
    plugin = std::make_unique<PluginProcess>(
        udp::testing::binaryFromEnv("SCRIPTED_PLUGIN"),
        std::vector<std::string>{"run", "--config", tmp.file("config.yaml"), "--kubelet-dir", dir,
                                 "--metrics-address", "unix:" + metrics, "--audit-log", auditPath,
                                 "--pod-resources-socket", podResources});
    REQUIRE(waitFor([&] { return httpGet(metrics, "/healthz").status == 200; }, 5s));
  }

  // The kubelet up, then the plugin, registered as the kubelet's `registrations`th.
  void startRegistered(int registrations = 1) {
    if (registrations == 1) REQUIRE(sim->start());
    startPlugin();
    REQUIRE(sim->waitForRegistrations(kFoo, registrations, 5s));
  }

  // Adds each device ("ID [options]", the scripted source's words) to a plugin that has none,
  // and waits until the kubelet has them all.
  void addDevices(std::initializer_list<std::string> devices) {
    for (const std::string& device : devices)
      REQUIRE(plugin->send("add example.com/foo " + device));
    REQUIRE(sim->waitForDevices(
        kFoo, [&](const auto& d) { return d.size() == devices.size(); }, 5s));
  }
};

// `pod` in namespace edge, whose container "agent" holds `deviceId` of kFoo.
void addHolder(v1::ListPodResourcesResponse& response, const std::string& pod,
               const std::string& deviceId) {
  auto* holder = response.add_pod_resources();
  holder->set_name(pod);
  holder->set_namespace_("edge");
  auto* container = holder->add_containers();
  container->set_name("agent");
  auto* devices = container->add_devices();
  devices->set_resource_name(kFoo);
  devices->add_device_ids(deviceId);
}

}  // namespace

TEST_CASE("/readyz follows registration and the kubelet; /healthz answers") {
  Operated o;
  o.startPlugin();
  CHECK(httpGet(o.metrics, "/readyz").status == 503);  // no kubelet yet
  REQUIRE(o.sim->start());
  REQUIRE(o.sim->waitForRegistrations(kFoo, 1, 5s));
  CHECK(waitFor([&] { return httpGet(o.metrics, "/readyz").status == 200; }, 5s));
  o.sim->stop();  // the kubelet goes away: its stream ends, kubelet.sock is gone
  CHECK(waitFor([&] { return httpGet(o.metrics, "/readyz").status == 503; }, 5s));
  REQUIRE(o.sim->start());
  CHECK(waitFor([&] { return httpGet(o.metrics, "/readyz").status == 200; }, 5s));
  CHECK(httpGet(o.metrics, "/healthz").status == 200);
  CHECK(httpGet(o.metrics, "/nope").status == 404);
  CHECK(o.plugin->terminate() == 0);
}

TEST_CASE("metrics move with allocations, devices and kubelet restarts; promtool accepts them") {
  Operated o;
  o.startRegistered();
  o.addDevices({"d0 devnode=/dev/null serial=S0", "d1 devnode=/dev/zero unhealthy"});

  v1beta1::AllocateResponse response;
  REQUIRE(o.sim->allocate(kFoo, {"d0"}, &response).ok());
  CHECK_FALSE(o.sim->allocate(kFoo, {"d1"}, &response).ok());
  CHECK_FALSE(o.sim->allocate(kFoo, {"ghost"}, &response).ok());
  REQUIRE(o.sim->restart());
  REQUIRE(o.sim->waitForRegistrations(kFoo, 2, 5s));

  const std::string r = "{resource=\"example.com/foo\"";
  std::string page;
  // The simulator counts a registration when it answers; the plugin a moment later.
  CHECK(waitFor(
      [&] {
        page = httpGet(o.metrics, "/metrics").body;
        return sample(page, "udev_device_plugin_registrations_total" + r + ",result=\"ok\"}") ==
                   2 &&
               sample(page, "udev_device_plugin_listandwatch_streams" + r + "}") == 1;
      },
      5s));
  MESSAGE("metrics excerpt:\n" << page.substr(0, 1500));
  CHECK(sample(page, "udev_device_plugin_devices" + r + ",health=\"healthy\"}") == 1);
  CHECK(sample(page, "udev_device_plugin_devices" + r + ",health=\"unhealthy\"}") == 1);
  CHECK(sample(page, "udev_device_plugin_allocations_total" + r + ",result=\"ok\"}") == 1);
  CHECK(sample(page, "udev_device_plugin_allocations_total" + r + ",result=\"unhealthy\"}") == 1);
  CHECK(sample(page, "udev_device_plugin_allocations_total" + r + ",result=\"unknown_device\"}") ==
        1);
  CHECK(sample(page, "udev_device_plugin_allocate_duration_seconds_count" + r + "}") == 3);
  CHECK(sample(page, "udev_device_plugin_registrations_total" + r + ",result=\"ok\"}") == 2);
  CHECK(sample(page, "udev_device_plugin_kubelet_restarts_total") == 1);
  CHECK(sample(page, "udev_device_plugin_listandwatch_streams" + r + "}") == 1);

  if (!hasTool("promtool")) {
    MESSAGE("promtool not installed: exposition format not checked");
    return;
  }
  std::string file = o.tmp.file("page.txt");
  o.tmp.write("page.txt", page);
  CHECK(system(("promtool check metrics < " + file).c_str()) == 0);
}

TEST_CASE("audit log: allocations, health changes with their holders, registrations, restarts") {
  Operated o;
  o.startRegistered();
  o.addDevices({"d0 devnode=/dev/null serial=SER0"});
  v1beta1::AllocateResponse response;
  REQUIRE(o.sim->allocate(kFoo, {"d0"}, &response).ok());
  REQUIRE(o.sim->preStartContainer(kFoo, {"d0"}).ok());

  // The kubelet says which pod holds d0; when d0 is pulled, the audit line names it.
  v1::ListPodResourcesResponse holders;
  addHolder(holders, "modem-0", "d0");
  o.sim->setPodResources(holders);
  REQUIRE(o.plugin->send("remove example.com/foo d0"));
  REQUIRE(o.sim->waitForDevices(
      kFoo, [](const auto& d) { return d.empty(); }, 5s));
  // The plugin asks PodResources after the removal; let it answer before the kubelet restarts.
  CHECK(
      waitFor([&] { return readFile(o.auditPath).find("\"holders\"") != std::string::npos; }, 5s));
  REQUIRE(o.sim->restart());
  REQUIRE(o.sim->waitForRegistrations(kFoo, 2, 5s));

  std::string log;
  CHECK(waitFor(
      [&] {
        log = readFile(o.auditPath);
        return log.find("\"kubelet-restart\"") != std::string::npos &&
               log.find("\"holders\"") != std::string::npos;
      },
      5s));
  MESSAGE("audit log:\n" << log);
  CHECK(
      log.find(
          R"("event":"allocate","resource":"example.com/foo","result":"ok","deviceIds":["d0"],"devnodes":["/dev/null"],"serials":["SER0"])") !=
      std::string::npos);
  CHECK(log.find(R"("event":"prestart","resource":"example.com/foo","result":"ok")") !=
        std::string::npos);
  CHECK(
      log.find(
          R"("from":"Healthy","to":"absent","holders":[{"pod":"modem-0","namespace":"edge","container":"agent"}])") !=
      std::string::npos);
  CHECK(log.find(R"("event":"registration","resource":"example.com/foo","result":"ok")") !=
        std::string::npos);
  CHECK(o.plugin->terminate() == 0);
}

// Issue 11: the holders came only for devices this process had answered Allocate for, so a
// restarted plugin (systemd, a DaemonSet rollout, an upgrade) named nobody for what its
// predecessor handed out. The kubelet's answer is what counts, whoever allocated.
TEST_CASE("audit log: a restarted plugin names the holders of devices its predecessor allocated") {
  Operated o;
  o.startRegistered();
  o.addDevices({"d0 devnode=/dev/null"});
  v1beta1::AllocateResponse response;
  REQUIRE(o.sim->allocate(kFoo, {"d0"}, &response).ok());
  REQUIRE(o.plugin->terminate() == 0);

  // The new process has answered no Allocate; the kubelet still has d0 and d1 in running pods.
  v1::ListPodResourcesResponse held;
  addHolder(held, "holder-d0", "d0");
  addHolder(held, "holder-d1", "d1");
  o.sim->setPodResources(held);
  o.startRegistered(2);
  o.addDevices({"d0", "d1", "d2"});
  REQUIRE(o.plugin->send("remove example.com/foo d0"));
  REQUIRE(o.plugin->send("add example.com/foo d1 unhealthy"));
  REQUIRE(o.plugin->send("remove example.com/foo d2"));

  const std::string d0 =
      R"("deviceId":"d0","devnode":"","serial":"","from":"Healthy","to":"absent","holders":[{"pod":"holder-d0","namespace":"edge","container":"agent"}]})";
  const std::string d1 =
      R"("deviceId":"d1","devnode":"","serial":"","from":"Healthy","to":"Unhealthy","holders":[{"pod":"holder-d1","namespace":"edge","container":"agent"}]})";
  // Asked, and the kubelet says nobody holds it.
  const std::string d2 =
      R"("deviceId":"d2","devnode":"","serial":"","from":"Healthy","to":"absent","holders":[]})";
  std::string log;
  bool named = waitFor(
      [&] {
        log = readFile(o.auditPath);
        return log.find(d0) != std::string::npos && log.find(d1) != std::string::npos &&
               log.find(d2) != std::string::npos;
      },
      5s);
  MESSAGE("audit log:\n" << log);
  CHECK(named);
  // One line per event: each device's change is written once.
  for (const char* id : {"d0", "d1", "d2"}) {
    std::string change = std::string("\"deviceId\":\"") + id +
                         "\",\"devnode\":\"\",\"serial\":\"\",\"from\":\"Healthy\",\"to\":\"";
    size_t first = log.find(change);
    CHECK(first != std::string::npos);
    CHECK(log.find(change, first + 1) == std::string::npos);
  }
  CHECK(o.plugin->terminate() == 0);
}

// Every failing device now waits for the kubelet's answer: one that never comes must not hold
// the line back for good, nor let a later line about the same device overtake it.
TEST_CASE("audit log: a kubelet that never answers PodResources delays health lines, in order") {
  Operated o;
  o.startRegistered();
  o.addDevices({"d1"});
  o.sim->holdPodResources(true);
  auto sent = std::chrono::steady_clock::now();
  REQUIRE(o.plugin->send("add example.com/foo d1 unhealthy"));
  REQUIRE(o.plugin->send("add example.com/foo d1"));

  const std::string failed =
      R"("deviceId":"d1","devnode":"","serial":"","from":"Healthy","to":"Unhealthy"})";
  const std::string recovered =
      R"("deviceId":"d1","devnode":"","serial":"","from":"Unhealthy","to":"Healthy"})";
  std::string log;
  // The client's 2 s deadline ends the List; the line goes without holders.
  bool written = waitFor(
      [&] {
        log = readFile(o.auditPath);
        return log.find(recovered) != std::string::npos;
      },
      5s);
  auto waited = std::chrono::steady_clock::now() - sent;
  o.sim->holdPodResources(false);
  MESSAGE("audit log:\n" << log);
  CHECK(written);
  CHECK(o.sim->podResourcesCalls() >= 1);
  CHECK(waited >= 1s);  // both lines waited for the List
  CHECK(log.find(failed) != std::string::npos);
  CHECK(log.find(failed) < log.find(recovered));
  CHECK(o.plugin->terminate() == 0);
}

TEST_CASE("/describe of a live daemon validates against docs/describe.schema.json") {
  TempDir tmp;
  std::string dir = tmp.file("device-plugins");
  std::string metrics = tmp.file("metrics.sock");
  SimOptions options;
  options.dir = dir;
  KubeletSim sim(options);
  REQUIRE(sim.start());
  PluginProcess plugin(udp::testing::binaryFromEnv("UDEV_DEVICE_PLUGIN"),
                       {"run", "--config", udp::testing::binaryFromEnv("EXAMPLE_CONFIG"),
                        "--kubelet-dir", dir, "--metrics-address", "unix:" + metrics});
  REQUIRE(sim.waitForRegistrations("example.com/loop", 1, 5s));
  HttpAnswer describe;
  REQUIRE(waitFor(
      [&] {
        describe = httpGet(metrics, "/describe");
        return describe.status == 200 &&
               describe.body.find("\"registration\":\"registered\"") != std::string::npos;
      },
      5s));
  CHECK(describe.body.find("\"live\":true") != std::string::npos);
  tmp.write("describe.json", describe.body);
  std::string validate = udp::testing::binaryFromEnv("DESCRIBE_VALIDATOR");
  std::string schema = udp::testing::binaryFromEnv("DESCRIBE_SCHEMA");
  CHECK(system(("/usr/bin/python3 " + validate + " --schema " + schema + " " +
                tmp.file("describe.json"))
                   .c_str()) == 0);
  CHECK(plugin.terminate() == 0);
}
