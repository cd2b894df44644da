// The simulator judged against a trivial grpc++ device plugin, so that a failing integration test
// can be blamed on the plugin and not on the simulator.
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "kubelet_sim.h"

namespace {

using namespace std::chrono_literals;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;

constexpr const char* kResource = "example.com/fake";

// A fresh kubelet dir per test case, removed afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/kubelet-sim-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

bool isSocket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

class FakePlugin final : public v1beta1::DevicePlugin::Service {
 public:
  grpc::Status GetDevicePluginOptions(grpc::ServerContext* context, const v1beta1::Empty*,
                                      v1beta1::DevicePluginOptions* out) override {
    {
      std::lock_guard lock(mutex_);
      authority_ = std::string(context->ExperimentalGetAuthority().data(),
                               context->ExperimentalGetAuthority().size());
    }
    out->set_pre_start_required(true);
    out->set_get_preferred_allocation_available(true);
    return grpc::Status::OK;
  }

  grpc::Status ListAndWatch(grpc::ServerContext* context, const v1beta1::Empty*,
                            grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override {
    v1beta1::ListAndWatchResponse response;
    for (const char* id : {"dev0", "dev1"}) {
      auto* d = response.add_devices();
      d->set_id(id);
      d->set_health("Healthy");
      d->mutable_topology()->add_nodes()->set_id(0);
    }
    if (!writer->Write(response)) return grpc::Status::CANCELLED;
    // The sync API has no "cancelled" notification; the stream only has to end promptly when
    // the simulator or the test lets go.
    std::unique_lock lock(mutex_);
    while (!stopping_ && !context->IsCancelled()) stopped_.wait_for(lock, 20ms);
    return grpc::Status::OK;
  }

  grpc::Status GetPreferredAllocation(grpc::ServerContext*,
                                      const v1beta1::PreferredAllocationRequest* req,
                                      v1beta1::PreferredAllocationResponse* out) override {
    for (const auto& c : req->container_requests()) {
      auto* r = out->add_container_responses();
      for (const auto& id : c.must_include_deviceids()) r->add_deviceids(id);
      for (const auto& id : c.available_deviceids())
        if (r->deviceids_size() < c.allocation_size()) r->add_deviceids(id);
    }
    return grpc::Status::OK;
  }

  grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest* req,
                        v1beta1::AllocateResponse* out) override {
    allocateContainers_ = req->container_requests_size();
    for (const auto& c : req->container_requests()) {
      auto* r = out->add_container_responses();
      for (const auto& id : c.devices_ids()) {
        auto* spec = r->add_devices();
        spec->set_host_path("/dev/" + id);
        spec->set_container_path("/dev/" + id);
        spec->set_permissions("rw");
      }
      (*r->mutable_envs())["FAKE_DEVICES"] = c.devices_ids(0);
    }
    return grpc::Status::OK;
  }

  grpc::Status PreStartContainer(grpc::ServerContext* context,
                                 const v1beta1::PreStartContainerRequest*,
                                 v1beta1::PreStartContainerResponse*) override {
    preStartDeadlineIn_ = context->deadline() - std::chrono::system_clock::now();
    return grpc::Status::OK;
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stopped_.notify_all();
  }

  std::string authority() {
    std::lock_guard lock(mutex_);
    return authority_;
  }

  std::atomic<int> allocateContainers_{0};
  std::atomic<std::chrono::system_clock::duration> preStartDeadlineIn_{};

 private:
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
  std::string authority_;
};

// Serves FakePlugin on dir/fake.sock, as a plugin must before it calls Register.
struct FakePluginServer {
  FakePlugin service;
  std::unique_ptr<grpc::Server> server;
  std::string dir;

  explicit FakePluginServer(const std::string& d) : dir(d) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + dir + "/fake.sock", grpc::InsecureServerCredentials());
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    REQUIRE(server != nullptr);
  }
  ~FakePluginServer() {
    service.stop();
    server->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status registerWith(const std::string& resource, const std::string& version = "v1beta1",
                            const std::string& endpoint = "fake.sock",
                            std::chrono::milliseconds deadline = 15s) {
    auto channel =
        grpc::CreateChannel("unix://" + dir + "/kubelet.sock", grpc::InsecureChannelCredentials());
    auto stub = v1beta1::Registration::NewStub(channel);
    v1beta1::RegisterRequest req;
    req.set_version(version);
    req.set_endpoint(endpoint);
    req.set_resource_name(resource);
    req.mutable_options()->set_pre_start_required(true);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    v1beta1::Empty resp;
    return stub->Register(&ctx, req, &resp);
  }
};

auto hasN(size_t n) {
  return [n](const std::vector<v1beta1::Device>& d) { return d.size() == n; };
}

}  // namespace

TEST_CASE("a plugin registers, streams its devices and answers the kubelet's calls") {
  TempDir dir;
  KubeletSim sim(SimOptions{.dir = dir.path});
  REQUIRE(sim.start());
  CHECK(isSocket(dir.path + "/kubelet.sock"));

  FakePluginServer plugin(dir.path);
  grpc::Status s = plugin.registerWith(kResource);
  REQUIRE_MESSAGE(s.ok(), s.error_message());
  REQUIRE(sim.waitForRegistrations(kResource, 1, 5s));

  auto update = sim.waitForDevices(kResource, hasN(2), 5s);
  REQUIRE(update.has_value());
  CHECK(update->devices[0].id() == "dev0");
  CHECK(update->devices[1].health() == "Healthy");
  CHECK(sim.updates(kResource).size() == 1);

  auto info = sim.plugin(kResource);
  REQUIRE(info.has_value());
  CHECK(info->endpoint == "fake.sock");
  CHECK(info->registrations == 1);
  CHECK(info->streaming);
  CHECK(info->options.pre_start_required());
  CHECK(info->options.get_preferred_allocation_available());
  CHECK(plugin.service.authority() == "localhost");

  v1beta1::AllocateResponse allocated;
  s = sim.allocate(kResource, {"dev1"}, &allocated);
  REQUIRE_MESSAGE(s.ok(), s.error_message());
  CHECK(plugin.service.allocateContainers_ == 1);
  REQUIRE(allocated.container_responses_size() == 1);
  CHECK(allocated.container_responses(0).devices(0).host_path() == "/dev/dev1");
  CHECK(allocated.container_responses(0).envs().at("FAKE_DEVICES") == "dev1");

  v1beta1::PreferredAllocationResponse preferred;
  s = sim.getPreferredAllocation(kResource, {"dev0", "dev1"}, {"dev1"}, 1, &preferred);
  REQUIRE(s.ok());
  REQUIRE(preferred.container_responses_size() == 1);
  CHECK(preferred.container_responses(0).deviceids_size() == 1);
  CHECK(preferred.container_responses(0).deviceids(0) == "dev1");

  v1beta1::DevicePluginOptions options;
  CHECK(sim.getOptions(kResource, &options).ok());
  CHECK(options.pre_start_required());

  s = sim.preStartContainer(kResource, {"dev0"});
  REQUIRE(s.ok());
  auto in = std::chrono::duration_cast<std::chrono::milliseconds>(
      plugin.service.preStartDeadlineIn_.load());
  // grpc core rounds grpc-timeout up to a coarser unit, hence the slack above 30 s.
  CHECK(in > 29s);
  CHECK(in < 31s);

  // A second Register replaces the first client; its stream starts over.
  s = plugin.registerWith(kResource);
  REQUIRE(s.ok());
  REQUIRE(sim.waitForRegistrations(kResource, 2, 5s));
  REQUIRE(sim.waitForDevices(kResource, hasN(2), 5s).has_value());
  CHECK(sim.updates(kResource).size() == 1);
  CHECK(sim.plugin(kResource)->streaming);

  // The plugin going away ends the stream; the kubelet does not reconnect.
  plugin.service.stop();
  CHECK(sim.waitForStreamEnded(kResource, 5s));
  CHECK_FALSE(sim.plugin(kResource)->streaming);
  CHECK(sim.registrationErrors().empty());
}

TEST_CASE("Register rejects what the kubelet rejects, with UNKNOWN") {
  TempDir dir;
  KubeletSim sim(SimOptions{.dir = dir.path});
  REQUIRE(sim.start());
  FakePluginServer plugin(dir.path);

  SUBCASE("wrong version") {
    grpc::Status s = plugin.registerWith(kResource, "v1alpha");
    CHECK(s.error_code() == grpc::StatusCode::UNKNOWN);
    CHECK(s.error_message().find("v1alpha") != std::string::npos);
  }
  SUBCASE("invalid resource names") {
    std::string longName(64, 'a');
    for (const std::string& name : std::vector<std::string>{
             "nodomain", "kubernetes.io/gpu", "foo.kubernetes.io/gpu", "requests.example.com/x",
             "example.com/", "/x", "example.com/a/b", "Example.com/x", "example.com/-x",
             "example.com/x y", "example.com/" + longName}) {
      CAPTURE(name);
      grpc::Status s = plugin.registerWith(name);
      CHECK(s.error_code() == grpc::StatusCode::UNKNOWN);
      CHECK(s.error_message() == "the ResourceName \"" + name + "\" is invalid");
    }
    CHECK(sim.registrationErrors().size() == 11);
  }
  SUBCASE("a plugin that does not serve its endpoint") {
    // The dial is bounded by the Register deadline, like the kubelet's context.
    auto begin = std::chrono::steady_clock::now();
    grpc::Status s = plugin.registerWith(kResource, "v1beta1", "missing.sock", 1s);
    CHECK_FALSE(s.ok());
    CHECK(std::chrono::steady_clock::now() - begin < 5s);
    CHECK(sim.waitForRegistrations(kResource, 1, 0ms) == false);
  }
  CHECK_FALSE(sim.plugin(kResource).has_value());
}

TEST_CASE("restart removes every socket in the dir, the plugin's too") {
  TempDir dir;
  KubeletSim sim(SimOptions{.dir = dir.path});
  REQUIRE(sim.start());
  FakePluginServer plugin(dir.path);
  REQUIRE(plugin.registerWith(kResource).ok());
  REQUIRE(sim.waitForDevices(kResource, hasN(2), 5s).has_value());
  CHECK(isSocket(dir.path + "/fake.sock"));

  REQUIRE(sim.restart());
  CHECK_FALSE(isSocket(dir.path + "/fake.sock"));
  CHECK(isSocket(dir.path + "/kubelet.sock"));
  CHECK_FALSE(sim.plugin(kResource)->streaming);
  v1beta1::AllocateResponse allocated;
  CHECK_FALSE(sim.allocate(kResource, {"dev0"}, &allocated).ok());

  // What a plugin does next: serve a fresh socket and register again.
  FakePluginServer again(dir.path);
  REQUIRE(again.registerWith(kResource).ok());
  CHECK(sim.waitForRegistrations(kResource, 2, 5s));
  CHECK(sim.plugin(kResource)->streaming);
}

TEST_CASE("the authority option reaches the plugin as :authority") {
  TempDir dir;
  std::string authority = dir.path + "/kubelet.sock";
  KubeletSim sim(SimOptions{.dir = dir.path, .authority = authority});
  REQUIRE(sim.start());
  FakePluginServer plugin(dir.path);
  REQUIRE(plugin.registerWith(kResource).ok());
  CHECK(plugin.service.authority() == authority);
}
