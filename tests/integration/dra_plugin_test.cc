// The DRA driver's kubelet side end to end, in process, against grpc++ (the kubelet's gRPC is
// grpc-go; ours must not be judged by itself): GetInfo and NotifyRegistrationStatus on the
// registration socket; NodePrepareResources with two claims, one failing, then again
// (idempotent, no API read) through v1beta1; NodeWatchResources (v1 and v1alpha1) hearing a
// health change; NodeUnprepareResources; a restarted plugin that unprepares what its predecessor
// prepared; a removed registration socket served again. The seams are the unit tests' fakes.
// Runs once per reactor backend (UDP_TEST_REACTOR, see meson.build).

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "../support/temp_dir.h"
#include "../unit/draplugin/fakes.h"
#include "dra_kubelet_client.h"
#include "draplugin/cdi_claim_spec.h"
#include "draplugin/dra_plugin_server.h"

namespace {

using namespace std::chrono_literals;
using udp::sim::DraKubeletClient;
using udp::testing::allocatedClaim;
using udp::testing::deviceWithNode;
using udp::testing::TempDir;
namespace draplugin = udp::draplugin;
namespace drapb = udp::sim::drapb;

constexpr const char* kDriver = "udev.example.com";

udp::reactor::Backend backendFromEnv() {
  const char* name = getenv("UDP_TEST_REACTOR");
  auto backend = udp::reactor::parseBackend(name != nullptr ? name : "auto");
  REQUIRE(backend.has_value());
  return *backend;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

struct Rig {
  TempDir tmp;
  std::unique_ptr<udp::reactor::Reactor> reactor;
  udp::testing::FakeDevices devices;
  udp::testing::FakeClaims claims;
  udp::testing::RecordingObserver observer;
  std::unique_ptr<draplugin::DraPluginServer> plugin;
  udp::config::Resource resource;

  Rig() {
    auto r = udp::reactor::Reactor::create(backendFromEnv(), 256);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    reactor = std::move(*r);
    resource.name = "example.com/serial";
    resource.deviceFile.uid = 1000;
    resource.deviceFile.mode = 0660;
    devices.add("node-1", "tty-a", resource, deviceWithNode("A", "/dev/ttyUSB0"));
    devices.add("node-1", "tty-b", resource, deviceWithNode("B", "/dev/ttyUSB1"));
    claims.claims["default/one"] =
        allocatedClaim("default", "one", "uid-1", {{"req", kDriver, "node-1", "tty-a"}});
    claims.claims["default/bad"] =
        allocatedClaim("default", "bad", "uid-3", {{"req", kDriver, "node-1", "tty-gone"}});
    startPlugin();
  }
  ~Rig() { stopPlugin(); }

  draplugin::DraPluginSettings settings() const {
    draplugin::DraPluginSettings s;
    s.driverName = kDriver;
    s.nodeName = "node-1";
    s.pluginsRegistryDir = tmp.path() + "/plugins_registry";
    s.pluginDir = tmp.path() + "/plugins";
    s.cdiDir = tmp.path() + "/cdi";
    s.legacyHealthRefresh = 50ms;
    return s;
  }
  std::string registrationSocket() const {
    return tmp.path() + "/plugins_registry/udev.example.com-reg.sock";
  }
  std::string endpoint() const { return tmp.path() + "/plugins/udev.example.com/dra.sock"; }
  std::string specOf(const std::string& uid) const {
    return tmp.path() + "/cdi/" + draplugin::cdiClaimSpecFileName(kDriver, uid);
  }

  void startPlugin() {
    plugin = std::make_unique<draplugin::DraPluginServer>(*reactor, settings(), claims, devices,
                                                          &observer);
    REQUIRE(plugin->start().ok());
  }
  void stopPlugin() {
    if (!plugin) return;
    plugin->stop();
    // A peer that keeps its connection after GOAWAY has ServerLimits::drainTimeout (5 s).
    stepUntil([&] { return plugin->idle(); }, 8s);
    CHECK_MESSAGE(plugin->idle(), "connections " << plugin->connectionCount() << " store "
                                                 << plugin->claims().idle() << " health "
                                                 << plugin->health().idle());
    plugin.reset();
  }
  void step() {
    claims.deliver();  // the API server answers on a later turn, as it would
    reactor->runOnce(5ms);
    if (plugin) plugin->sweep();
  }
  template <typename T>
  T await(std::future<T>& future, std::chrono::seconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (future.wait_for(0ms) != std::future_status::ready) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      step();
    }
    return future.get();
  }
  bool stepUntil(const std::function<bool()>& done, std::chrono::seconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) step();
    return done();
  }
};

drapb::NodePrepareResourcesRequest prepareRequest(
    std::vector<std::array<std::string, 2>> nameAndUid) {
  drapb::NodePrepareResourcesRequest request;
  for (const auto& [name, uid] : nameAndUid) {
    drapb::Claim* claim = request.add_claims();
    claim->set_namespace_("default");
    claim->set_name(name);
    claim->set_uid(uid);
  }
  return request;
}

drapb::NodeUnprepareResourcesRequest unprepareRequest(
    std::vector<std::array<std::string, 2>> nameAndUid) {
  drapb::NodeUnprepareResourcesRequest request;
  request.mutable_claims()->CopyFrom(prepareRequest(std::move(nameAndUid)).claims());
  return request;
}

}  // namespace

TEST_CASE("DRA kubelet plugin: register, prepare, watch health, unprepare, restart") {
  Rig rig;

  // The registration socket, as the kubelet's plugin watcher dials it.
  REQUIRE(rig.stepUntil([&] { return exists(rig.registrationSocket()); }));
  pluginregistration::PluginInfo info;
  auto getInfo = std::async(std::launch::async,
                            [&] { return udp::sim::draGetInfo(rig.registrationSocket(), info); });
  REQUIRE(rig.await(getInfo).ok());
  CHECK(info.type() == "DRAPlugin");
  CHECK(info.name() == kDriver);
  CHECK(info.endpoint() == rig.endpoint());
  REQUIRE(info.supported_versions_size() == 3);
  CHECK(info.supported_versions(0) == "v1.DRAPlugin");
  CHECK(info.supported_versions(1) == "v1beta1.DRAPlugin");
  CHECK(info.supported_versions(2) == "v1.DRAResourceHealth");
  auto notify = std::async(std::launch::async, [&] {
    return udp::sim::draNotifyRegistration(rig.registrationSocket(), true, "");
  });
  REQUIRE(rig.await(notify).ok());
  CHECK(rig.plugin->registration().state() == udp::kubelet::RegistrationState::kRegistered);

  auto client = std::make_unique<DraKubeletClient>(rig.endpoint());

  // Two claims, one failing: each its own entry.
  drapb::NodePrepareResourcesResponse first;
  auto prepare = std::async(std::launch::async, [&] {
    return client->prepare(prepareRequest({{"one", "uid-1"}, {"bad", "uid-3"}}), first);
  });
  REQUIRE(rig.await(prepare).ok());
  REQUIRE(first.claims_size() == 2);
  const auto& one = first.claims().at("uid-1");
  CHECK(one.error().empty());
  REQUIRE(one.devices_size() == 1);
  CHECK(one.devices(0).device_name() == "tty-a");
  CHECK(one.devices(0).cdi_device_ids(0) == "udev.example.com/claim=uid-1-tty-a");
  CHECK(first.claims().at("uid-3").error().find("tty-gone") != std::string::npos);
  CHECK(exists(rig.specOf("uid-1")));
  size_t fetches = rig.claims.fetched.size();

  // Again, through v1beta1: the same answer, without the API server.
  drapb::NodePrepareResourcesResponse again;
  auto repeat = std::async(std::launch::async, [&] {
    return client->prepare(prepareRequest({{"one", "uid-1"}}), again, true);
  });
  REQUIRE(rig.await(repeat).ok());
  CHECK(again.claims().at("uid-1").SerializeAsString() == one.SerializeAsString());
  CHECK(rig.claims.fetched.size() == fetches);

  // Health: the list when the stream opens, then a change.
  rig.plugin->healthChanged(
      {{"node-1", "tty-a", true, "", false}, {"node-1", "tty-b", true, "", false}});
  client->startWatch();
  REQUIRE(rig.stepUntil([&] { return !client->watchMessages().empty(); }));
  auto opened = client->watchMessages().front();
  REQUIRE(opened.devices_size() == 2);
  CHECK(opened.devices(0).health() == ::v1::HEALTHY);
  rig.plugin->healthChanged({{"node-1", "tty-a", false, "removed", true}});
  REQUIRE(rig.stepUntil([&] { return client->watchMessages().size() >= 2; }));
  auto changed = client->watchMessages().back();
  REQUIRE(changed.devices_size() == 2);
  CHECK(changed.devices(0).device().device_name() == "tty-a");
  CHECK(changed.devices(0).health() == ::v1::UNHEALTHY);
  CHECK(changed.devices(0).message() == "removed");
  CHECK(changed.devices(0).health_check_timeout_seconds() == draplugin::kHealthCheckTimeoutSeconds);

  // A kubelet before 1.37 calls v1alpha1 and gets the list again while it listens.
  DraKubeletClient legacy(rig.endpoint());
  legacy.startWatch(true);
  REQUIRE(rig.stepUntil([&] { return legacy.watchMessages().size() >= 3; }));
  CHECK(legacy.watchMessages().back().devices(0).health() == ::v1::UNHEALTHY);
  legacy.stopWatch();

  // Unprepare: the spec goes; an unknown claim is fine.
  drapb::NodeUnprepareResourcesResponse unprepared;
  auto unprepare = std::async(std::launch::async, [&] {
    return client->unprepare(unprepareRequest({{"bad", "uid-3"}}), unprepared);
  });
  REQUIRE(rig.await(unprepare).ok());
  CHECK(unprepared.claims().at("uid-3").error().empty());
  CHECK(exists(rig.specOf("uid-1")));

  // The plugin restarts with uid-1 prepared: the health stream ends, the new plugin still knows
  // the claim and removes its spec.
  rig.stopPlugin();
  REQUIRE(rig.stepUntil([&] { return client->watchEnded().has_value(); }));
  CHECK_FALSE(exists(rig.registrationSocket()));
  CHECK_FALSE(exists(rig.endpoint()));
  client.reset();
  rig.startPlugin();
  REQUIRE(rig.plugin->claims().find("uid-1") != nullptr);
  auto fresh = std::make_unique<DraKubeletClient>(rig.endpoint());
  drapb::NodeUnprepareResourcesResponse afterRestart;
  auto unprepareAgain = std::async(std::launch::async, [&] {
    return fresh->unprepare(unprepareRequest({{"one", "uid-1"}}), afterRestart);
  });
  REQUIRE(rig.await(unprepareAgain).ok());
  CHECK(afterRestart.claims().at("uid-1").error().empty());
  CHECK_FALSE(exists(rig.specOf("uid-1")));
  CHECK(rig.plugin->claims().claims().empty());
  CHECK(rig.claims.fetched.size() == fetches);  // nothing read from the API server to do it

  // Someone deletes the registration socket: it comes back (the kubelet registers us again).
  REQUIRE(rig.stepUntil([&] { return exists(rig.registrationSocket()); }));
  ::unlink(rig.registrationSocket().c_str());
  REQUIRE(rig.stepUntil([&] { return exists(rig.registrationSocket()); }));
  pluginregistration::PluginInfo again2;
  auto getInfoAgain = std::async(
      std::launch::async, [&] { return udp::sim::draGetInfo(rig.registrationSocket(), again2); });
  REQUIRE(rig.await(getInfoAgain).ok());
  CHECK(again2.endpoint() == rig.endpoint());

  fresh.reset();
  bool sawPrepare = false, sawUnprepare = false;
  for (const auto& e : rig.observer.events) {
    if (e.uid != "uid-1" || !e.error.empty() || e.repeated) continue;
    sawPrepare = sawPrepare || e.operation == draplugin::ClaimOperation::kPrepare;
    sawUnprepare = sawUnprepare || e.operation == draplugin::ClaimOperation::kUnprepare;
  }
  CHECK(sawPrepare);
  CHECK(sawUnprepare);
}

TEST_CASE("DRA kubelet plugin: a call whose deadline passes before the API server answers") {
  Rig rig;
  rig.claims.claims.erase("default/one");  // never delivered: the fetch is held below
  auto client = std::make_unique<DraKubeletClient>(rig.endpoint());
  // Hold the API server: the fake answers only when told, and the step loop tells it; here the
  // claim's fetch is cancelled by the deadline before any step delivers it.
  struct Holding final : udp::draplugin::ClaimSource {
    std::vector<uint64_t> cancelled;
    uint64_t fetch(std::string_view, std::string_view, Done) override { return 7; }
    void cancel(uint64_t ticket) override { cancelled.push_back(ticket); }
  } holding;
  rig.stopPlugin();
  rig.plugin = std::make_unique<draplugin::DraPluginServer>(*rig.reactor, rig.settings(), holding,
                                                            rig.devices, &rig.observer);
  REQUIRE(rig.plugin->start().ok());
  drapb::NodePrepareResourcesResponse response;
  auto prepare = std::async(std::launch::async, [&] {
    return client->prepare(prepareRequest({{"one", "uid-1"}}), response, false, 300ms);
  });
  auto status = rig.await(prepare);
  CHECK(status.code == 4);  // DEADLINE_EXCEEDED
  REQUIRE(rig.stepUntil([&] { return holding.cancelled.size() == 1; }));
  CHECK(rig.plugin->service().operationsInFlight() == 0);
  client.reset();
  rig.stopPlugin();
}
