// DraService with fake seams and a real ClaimStore (files in a temp dir, written on the worker
// thread, completions on a real reactor): prepare and unprepare per claim, errors per claim,
// idempotence without the API server, retries joining the call in flight, cancellation, the
// checkpoint across a restart, and what the observer hears.

#include "draplugin/dra_service.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "../../support/temp_dir.h"
#include "draplugin/cdi_claim_spec.h"
#include "fakes.h"

namespace udp::draplugin {
namespace {

using namespace std::chrono_literals;
using testing::allocatedClaim;
using testing::deviceWithNode;
using testing::FakeClaims;
using testing::FakeDevices;
using testing::RecordingObserver;
using testing::TempDir;

constexpr const char* kDriver = "udev.example.com";

// One call as the gRPC connection would hold it.
struct TestCall {
  std::shared_ptr<grpc::DeferredUnary> state = std::make_shared<grpc::DeferredUnary>();
  std::optional<grpc::Status> status;
  std::string response;
  TestCall() {
    state->answer = [this](const grpc::Status& s, std::string_view r) {
      status = s;
      response = std::string(r);
    };
  }
  // What the connection does when the peer resets the call.
  void cancel() {
    state->answer = nullptr;
    auto onCancel = std::move(state->onCancel);
    state->onCancel = nullptr;
    if (onCancel) onCancel();
  }
  drapb::NodePrepareResourcesResponse prepared() const {
    drapb::NodePrepareResourcesResponse r;
    REQUIRE(r.ParseFromString(response));
    return r;
  }
  drapb::NodeUnprepareResourcesResponse unprepared() const {
    drapb::NodeUnprepareResourcesResponse r;
    REQUIRE(r.ParseFromString(response));
    return r;
  }
};

struct Rig {
  TempDir tmp;
  std::unique_ptr<reactor::Reactor> reactor;
  FakeDevices devices;
  FakeClaims claims;
  RecordingObserver observer;
  std::unique_ptr<ClaimStore> store;
  std::unique_ptr<DraService> service;
  std::vector<std::unique_ptr<TestCall>> calls;
  config::Resource resource;

  Rig() {
    auto r = reactor::Reactor::create(reactor::Backend::kAuto, 64);
    REQUIRE(r.ok());
    reactor = std::move(*r);
    resource.name = "example.com/serial";
    resource.deviceFile.mode = 0660;
    devices.add("node-1", "tty-a", resource, deviceWithNode("A", "/dev/ttyUSB0"));
    devices.add("node-1", "tty-b", resource, deviceWithNode("B", "/dev/ttyUSB1"));
    claims.claims["default/one"] =
        allocatedClaim("default", "one", "uid-1", {{"req", kDriver, "node-1", "tty-a"}});
    claims.claims["default/two"] =
        allocatedClaim("default", "two", "uid-2", {{"req", kDriver, "node-1", "tty-b"}});
    claims.claims["default/bad"] =
        allocatedClaim("default", "bad", "uid-3", {{"req", kDriver, "node-1", "tty-gone"}});
    restart();
  }
  ~Rig() {
    service.reset();
    settle();
  }
  std::string cdiDir() const { return tmp.path() + "/cdi"; }
  std::string checkpoint() const {
    return tmp.path() + "/plugins/udev.example.com/checkpoint.json";
  }
  std::string specOf(const std::string& uid) const {
    return cdiDir() + "/" + cdiClaimSpecFileName(kDriver, uid);
  }
  // A new store and service, as a restarted plugin has them.
  void restart() {
    service.reset();
    if (store) settle();
    store =
        std::make_unique<ClaimStore>(*reactor, ClaimStorePaths{kDriver, cdiDir(), checkpoint()});
    store->load();
    service = std::make_unique<DraService>(DraServiceSettings{kDriver, "node-1"}, *store, claims,
                                           devices, &observer);
  }
  void settle() {
    for (int i = 0; i < 500 && !store->idle(); ++i) reactor->runOnce(5ms);
    REQUIRE(store->idle());
  }
  TestCall& start(std::string_view path, const std::vector<std::array<std::string, 3>>& refs) {
    drapb::NodePrepareResourcesRequest request;
    for (const auto& [ns, name, uid] : refs) {
      drapb::Claim* c = request.add_claims();
      c->set_namespace_(ns);
      c->set_name(name);
      c->set_uid(uid);
    }
    calls.push_back(std::make_unique<TestCall>());
    TestCall& call = *calls.back();
    grpc::CallContext context{path, "localhost", std::nullopt};
    service->startUnary(context, request.SerializeAsString(), grpc::UnaryResponder(call.state));
    return call;
  }
  // Delivers claims and turns the reactor until the call is answered.
  bool finish(TestCall& call) {
    for (int i = 0; i < 500 && !call.status; ++i) {
      claims.deliver();
      reactor->runOnce(5ms);
    }
    return call.status.has_value();
  }
};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::array<std::string, 3> ref(std::string name, std::string uid) {
  return {"default", std::move(name), std::move(uid)};
}

}  // namespace

TEST_CASE("NodePrepareResources: two claims, one failing; every claim gets its own entry") {
  Rig rig;
  TestCall& call = rig.start(kPrepareV1, {ref("one", "uid-1"), ref("bad", "uid-3")});
  CHECK_FALSE(call.status);  // waits for the API server
  REQUIRE(rig.finish(call));
  REQUIRE(call.status->ok());
  auto response = call.prepared();
  REQUIRE(response.claims_size() == 2);
  const auto& one = response.claims().at("uid-1");
  CHECK(one.error().empty());
  REQUIRE(one.devices_size() == 1);
  CHECK(one.devices(0).pool_name() == "node-1");
  CHECK(one.devices(0).device_name() == "tty-a");
  CHECK(one.devices(0).request_names(0) == "req");
  CHECK(one.devices(0).cdi_device_ids(0) == "udev.example.com/claim=uid-1-tty-a");
  const auto& bad = response.claims().at("uid-3");
  CHECK(bad.error().find("node-1/tty-gone") != std::string::npos);
  CHECK(bad.devices_size() == 0);
  CHECK(exists(rig.specOf("uid-1")));
  CHECK_FALSE(exists(rig.specOf("uid-3")));
  REQUIRE(rig.store->find("uid-1") != nullptr);
  CHECK(rig.store->find("uid-3") == nullptr);
  // On disk before the answer: a fresh read of the checkpoint has it.
  std::ifstream file(rig.checkpoint());
  std::string text((std::istreambuf_iterator<char>(file)), {});
  auto onDisk = parseCheckpoint(text);
  REQUIRE(onDisk.ok());
  CHECK(onDisk->count("uid-1") == 1);

  REQUIRE(rig.observer.events.size() == 2);
  for (const ClaimEvent& e : rig.observer.events) {
    CHECK(e.operation == ClaimOperation::kPrepare);
    CHECK_FALSE(e.repeated);
    if (e.uid == "uid-1") {
      CHECK(e.error.empty());
      CHECK(e.reservedFor.at(0).name == "pod-one");
      CHECK(e.devices.size() == 1);
    } else {
      CHECK(e.name == "bad");
      CHECK_FALSE(e.error.empty());
    }
  }
}

TEST_CASE("NodePrepareResources again: answered the same, without the API server") {
  Rig rig;
  TestCall& first = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.finish(first));
  size_t fetches = rig.claims.fetched.size();
  TestCall& again = rig.start(kPrepareV1beta1, {ref("one", "uid-1")});
  REQUIRE(again.status);  // at once
  CHECK(again.response == first.response);
  CHECK(rig.claims.fetched.size() == fetches);
  CHECK(rig.observer.events.back().repeated);

  // The spec file gone (cdiDir is a tmpfs): prepared again from the API server.
  std::filesystem::remove(rig.specOf("uid-1"));
  TestCall& third = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.finish(third));
  CHECK(rig.claims.fetched.size() == fetches + 1);
  CHECK(exists(rig.specOf("uid-1")));
  CHECK(third.response == first.response);
}

TEST_CASE("a retry while the claim is being read joins it; one API read for both") {
  Rig rig;
  TestCall& first = rig.start(kPrepareV1, {ref("one", "uid-1")});
  TestCall& retry = rig.start(kPrepareV1, {ref("one", "uid-1"), ref("two", "uid-2")});
  REQUIRE(rig.finish(retry));
  REQUIRE(first.status);
  CHECK(rig.claims.fetched == std::vector<std::string>{"default/one", "default/two"});
  CHECK(first.prepared().claims().at("uid-1").devices_size() == 1);
  CHECK(retry.prepared().claims_size() == 2);
}

TEST_CASE("a call that goes away stops the claim's read; a later call starts afresh") {
  Rig rig;
  TestCall& call = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.claims.pending.size() == 1);
  call.cancel();
  CHECK(rig.claims.cancelled.size() == 1);
  CHECK(rig.claims.pending.empty());
  CHECK(rig.service->operationsInFlight() == 0);
  TestCall& again = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.finish(again));
  CHECK(again.prepared().claims().at("uid-1").error().empty());
  CHECK_FALSE(call.status);  // never answered: it went away
}

TEST_CASE("the API server's error and a claim answered inside fetch() are per-claim answers") {
  Rig rig;
  rig.claims.errors["default/one"] = "connection refused";
  rig.claims.immediate = true;
  TestCall& call = rig.start(kPrepareV1, {ref("one", "uid-1"), ref("two", "uid-2")});
  REQUIRE(rig.finish(call));
  auto response = call.prepared();
  CHECK(response.claims().at("uid-1").error() ==
        "cannot read ResourceClaim default/one: connection refused");
  CHECK(response.claims().at("uid-2").error().empty());
}

TEST_CASE("NodeUnprepareResources: removes the spec, forgets the claim; unknown claims succeed") {
  Rig rig;
  REQUIRE(rig.finish(rig.start(kPrepareV1, {ref("one", "uid-1"), ref("two", "uid-2")})));
  TestCall& call = rig.start(kUnprepareV1, {ref("one", "uid-1"), ref("never", "uid-9")});
  REQUIRE(rig.finish(call));
  auto response = call.unprepared();
  REQUIRE(response.claims_size() == 2);
  CHECK(response.claims().at("uid-1").error().empty());
  CHECK(response.claims().at("uid-9").error().empty());
  CHECK_FALSE(exists(rig.specOf("uid-1")));
  CHECK(exists(rig.specOf("uid-2")));
  CHECK(rig.store->find("uid-1") == nullptr);
  const ClaimEvent& last = rig.observer.events.back();
  CHECK(last.operation == ClaimOperation::kUnprepare);
  bool sawOne = false;
  for (const ClaimEvent& e : rig.observer.events) {
    if (e.operation == ClaimOperation::kUnprepare && e.uid == "uid-1") {
      sawOne = true;
      CHECK(e.reservedFor.at(0).name == "pod-one");  // from the checkpointed state
      CHECK(e.devices.size() == 1);
    }
  }
  CHECK(sawOne);
  // Again: nothing left to do, and still success.
  TestCall& again = rig.start(kUnprepareV1beta1, {ref("one", "uid-1")});
  REQUIRE(again.status);
  CHECK(again.unprepared().claims().at("uid-1").error().empty());
}

TEST_CASE("a restarted plugin keeps its prepared claims: answers and unprepares from them") {
  Rig rig;
  TestCall& first = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.finish(first));
  rig.restart();
  REQUIRE(rig.store->find("uid-1") != nullptr);
  size_t fetches = rig.claims.fetched.size();
  TestCall& again = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(again.status);
  CHECK(again.response == first.response);
  CHECK(rig.claims.fetched.size() == fetches);
  TestCall& unprepare = rig.start(kUnprepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.finish(unprepare));
  CHECK_FALSE(exists(rig.specOf("uid-1")));
  rig.restart();
  CHECK(rig.store->claims().empty());
}

TEST_CASE("a corrupt checkpoint: logged, kept aside, and the plugin starts with nothing") {
  Rig rig;
  REQUIRE(rig.finish(rig.start(kPrepareV1, {ref("one", "uid-1")})));
  std::ofstream(rig.checkpoint()) << "{\"version\": 1, \"claims\": [{\"uid\": ";
  rig.restart();
  CHECK(rig.store->claims().empty());
  CHECK(exists(rig.checkpoint() + ".corrupt"));
  // Serving goes on: the claim is prepared again from the API server.
  TestCall& again = rig.start(kPrepareV1, {ref("one", "uid-1")});
  REQUIRE(rig.finish(again));
  CHECK(again.prepared().claims().at("uid-1").error().empty());
}

TEST_CASE("restoreSpecs writes the specs a reboot removed, from the checkpoint") {
  Rig rig;
  REQUIRE(rig.finish(rig.start(kPrepareV1, {ref("one", "uid-1")})));
  std::ifstream before(rig.specOf("uid-1"));
  std::string original((std::istreambuf_iterator<char>(before)), {});
  std::filesystem::remove_all(rig.cdiDir());
  rig.restart();
  rig.store->restoreSpecs(rig.devices);
  rig.settle();
  std::ifstream after(rig.specOf("uid-1"));
  std::string restored((std::istreambuf_iterator<char>(after)), {});
  CHECK(restored == original);
}

TEST_CASE("malformed requests and an empty one") {
  Rig rig;
  rig.calls.push_back(std::make_unique<TestCall>());
  TestCall& garbage = *rig.calls.back();
  grpc::CallContext context{kPrepareV1, "localhost", std::nullopt};
  rig.service->startUnary(context, "\xff\xff\xff", grpc::UnaryResponder(garbage.state));
  REQUIRE(garbage.status);
  CHECK(garbage.status->code == grpc::StatusCode::kInvalidArgument);
  TestCall& empty = rig.start(kUnprepareV1, {});
  REQUIRE(empty.status);
  CHECK(empty.status->ok());
  CHECK(empty.unprepared().claims_size() == 0);
  CHECK(rig.service->methodKind("/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/Other") == std::nullopt);
}

}  // namespace udp::draplugin
