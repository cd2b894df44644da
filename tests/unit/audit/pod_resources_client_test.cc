// PodResourcesClient against the kubelet simulator's PodResources server: a real gRPC server
// (grpc++) on a unix socket. KubeletSim serves the same class when SimOptions::podResourcesSocket
// is set; it is used directly here because kubelet_sim.h includes grpc++, which cannot share a
// translation unit with src/ (see pod_resources_server.h).

#include "kubelet/pod_resources.h"

#include <doctest/doctest.h>
#include <errno.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>

#include "../../support/temp_dir.h"
#include "pod_resources_server.h"
#include "util/unix_socket.h"

using namespace std::chrono_literals;
using udp::Result;
using udp::kubelet::Holder;
using udp::kubelet::holdersOf;
using udp::kubelet::PodResourcesClient;

namespace {

using udp::testing::TempDir;

std::unique_ptr<udp::reactor::Reactor> makeReactor() {
  auto r = udp::reactor::Reactor::create(64);
  REQUIRE(r.ok());
  return std::move(*r);
}

v1::ListPodResourcesResponse twoPods() {
  v1::ListPodResourcesResponse response;
  auto* holder = response.add_pod_resources();
  holder->set_name("modem-0");
  holder->set_namespace_("edge");
  auto* agent = holder->add_containers();
  agent->set_name("agent");
  auto* devices = agent->add_devices();
  devices->set_resource_name("example.com/serial");
  devices->add_device_ids("FT1");
  devices->mutable_topology()->add_nodes()->set_id(0);

  auto* other = response.add_pod_resources();
  other->set_name("web");
  other->set_namespace_("default");
  auto* nginx = other->add_containers();
  nginx->set_name("nginx");
  nginx->add_cpu_ids(2);
  auto* memory = nginx->add_memory();
  memory->set_memory_type("memory");
  memory->set_size(1 << 20);
  auto* claim = nginx->add_dynamic_resources();
  claim->set_claim_name("gpu-claim");
  claim->set_claim_namespace("default");
  auto* claimed = claim->add_claim_resources();
  claimed->set_driver_name("gpu.example.com");
  claimed->add_cdi_devices()->set_name("example.com/gpu=gpu0");
  return response;
}

// Runs one query to its end.
std::optional<Result<v1::ListPodResourcesResponse>> queryOnce(udp::reactor::Reactor& reactor,
                                                              PodResourcesClient& client) {
  std::optional<Result<v1::ListPodResourcesResponse>> answer;
  client.query([&](Result<v1::ListPodResourcesResponse> r) { answer.emplace(std::move(r)); });
  for (int i = 0; i < 600 && !(answer && client.idle()); ++i) {
    reactor.runOnce(10ms);
    client.sweep();
  }
  CHECK(client.idle());
  return answer;
}

}  // namespace

TEST_CASE("List from a real gRPC server: holdersOf finds the pod holding the device") {
  TempDir dir;
  const std::string socket = dir.path() + "/pod-resources/kubelet.sock";
  udp::sim::PodResourcesServer sim;
  sim.set(twoPods());
  REQUIRE(sim.start(socket));
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, socket);

  auto answer = queryOnce(*reactor, client);
  REQUIRE(answer.has_value());
  REQUIRE_MESSAGE(answer->ok(), answer->error().message);
  CHECK((*answer)->pod_resources_size() == 2);
  CHECK(holdersOf(**answer, "example.com/serial", "FT1") ==
        std::vector<Holder>{{"modem-0", "edge", "agent"}});
  CHECK(holdersOf(**answer, "example.com/serial", "FT2").empty());
  CHECK((*answer)
            ->pod_resources(1)
            .containers(0)
            .dynamic_resources(0)
            .claim_resources(0)
            .cdi_devices(0)
            .name() == "example.com/gpu=gpu0");
  CHECK(sim.calls() == 1);

  SUBCASE("a new answer after the pods changed, over a new call") {
    sim.set({});
    auto again = queryOnce(*reactor, client);
    REQUIRE(again.has_value());
    REQUIRE(again->ok());
    CHECK(holdersOf(**again, "example.com/serial", "FT1").empty());
  }
  SUBCASE("the kubelet restarts: served again on the new socket") {
    sim.stop();
    auto gone = queryOnce(*reactor, client);
    REQUIRE(gone.has_value());
    CHECK(gone->error().code == -ENOENT);
    REQUIRE(sim.start(socket));
    auto again = queryOnce(*reactor, client);
    REQUIRE(again.has_value());
    REQUIRE(again->ok());
    CHECK(holdersOf(**again, "example.com/serial", "FT1").size() == 1);
  }
}

TEST_CASE("no socket: an error at once, without connecting") {
  TempDir dir;
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, dir.path() + "/pod-resources/kubelet.sock");
  std::optional<Result<v1::ListPodResourcesResponse>> answer;
  client.query([&](Result<v1::ListPodResourcesResponse> r) { answer.emplace(std::move(r)); });
  REQUIRE(answer.has_value());  // before query() returned
  REQUIRE_FALSE(answer->ok());
  CHECK(answer->error().code == -ENOENT);
  CHECK(answer->error().message.find("pod-resources/kubelet.sock") != std::string::npos);
  CHECK(client.idle());
}

TEST_CASE("a stale socket nobody serves: UNAVAILABLE") {
  TempDir dir;
  const std::string path = dir.path() + "/kubelet.sock";
  {
    auto listening = udp::listenUnix(path);
    REQUIRE(listening.ok());
  }  // closed: the file stays, nobody listens
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, path);
  auto answer = queryOnce(*reactor, client);
  REQUIRE(answer.has_value());
  REQUIRE_FALSE(answer->ok());
  CHECK(answer->error().code == static_cast<int>(udp::grpc::StatusCode::kUnavailable));
}

TEST_CASE("a kubelet that never answers: DEADLINE_EXCEEDED after 2 s") {
  TempDir dir;
  const std::string path = dir.path() + "/kubelet.sock";
  auto listening = udp::listenUnix(path);  // connects succeed (backlog); nothing is ever said
  REQUIRE(listening.ok());
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, path);
  auto started = std::chrono::steady_clock::now();
  auto answer = queryOnce(*reactor, client);
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(answer.has_value());
  REQUIRE_FALSE(answer->ok());
  CHECK(answer->error().code == static_cast<int>(udp::grpc::StatusCode::kDeadlineExceeded));
  CHECK(took >= 1900ms);
  CHECK(took < 4s);
}

TEST_CASE("stop cancels the call in flight and answers later queries at once") {
  TempDir dir;
  const std::string socket = dir.path() + "/pod-resources/kubelet.sock";
  udp::sim::PodResourcesServer sim;
  REQUIRE(sim.start(socket));
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, socket);
  std::optional<Result<v1::ListPodResourcesResponse>> first, second;
  client.query([&](Result<v1::ListPodResourcesResponse> r) { first.emplace(std::move(r)); });
  client.stop();
  REQUIRE(first.has_value());
  CHECK(first->error().code == static_cast<int>(udp::grpc::StatusCode::kCancelled));
  client.query([&](Result<v1::ListPodResourcesResponse> r) { second.emplace(std::move(r)); });
  REQUIRE(second.has_value());
  CHECK_FALSE(second->ok());
  for (int i = 0; i < 100 && !client.idle(); ++i) {
    reactor->runOnce(10ms);
    client.sweep();
  }
  CHECK(client.idle());
}

namespace {

// Runs the reactor until `done()` holds and the client is idle, or 6 s pass.
template <typename Pred>
bool runUntil(udp::reactor::Reactor& reactor, PodResourcesClient& client, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done() && client.idle()) return true;
    reactor.runOnce(10ms);
    client.sweep();
  }
  return false;
}

using Answer = PodResourcesClient::Answer;

}  // namespace

TEST_CASE("a mass removal costs one List: queries while a List is in flight share its answer") {
  TempDir dir;
  const std::string socket = dir.path() + "/pod-resources/kubelet.sock";
  udp::sim::PodResourcesServer sim;
  sim.set(twoPods());
  REQUIRE(sim.start(socket));
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, socket);
  std::vector<std::optional<Answer>> answers(20);

  SUBCASE("twenty queries in one turn") {
    for (auto& answer : answers) client.query([&](const Answer& r) { answer.emplace(r); });
    REQUIRE(runUntil(*reactor, client, [&] { return answers.back().has_value(); }));
  }
  SUBCASE("queries arriving while the kubelet is still answering") {
    sim.hold(true);
    answers[0].reset();
    client.query([&](const Answer& r) { answers[0].emplace(r); });
    // Until the kubelet has the call in hand: the others certainly come after it started.
    for (int i = 0; i < 600 && sim.calls() == 0; ++i) reactor->runOnce(10ms);
    REQUIRE(sim.calls() == 1);
    if (answers[0]) {
      std::string what = answers[0]->ok() ? "answered" : answers[0]->error().message;
      MESSAGE(what);
    }
    REQUIRE_FALSE(answers[0].has_value());
    for (size_t i = 1; i < answers.size(); ++i) {
      client.query([&, i](const Answer& r) { answers[i].emplace(r); });
      reactor->runOnce(1ms);
    }
    CHECK_FALSE(answers[0].has_value());
    sim.hold(false);
    REQUIRE(runUntil(*reactor, client, [&] { return answers.back().has_value(); }));
  }
  CHECK(sim.calls() == 1);
  for (const auto& answer : answers) {
    REQUIRE(answer.has_value());
    REQUIRE_MESSAGE(answer->ok(), answer->error().message);
    CHECK(holdersOf(**answer, "example.com/serial", "FT1").size() == 1);
  }

  // The next query, once that List has answered, asks again.
  std::optional<Answer> later;
  client.query([&](const Answer& r) { later.emplace(r); });
  REQUIRE(runUntil(*reactor, client, [&] { return later.has_value(); }));
  CHECK(later->ok());
  CHECK(sim.calls() == 2);
}

TEST_CASE("a done that queries again starts a new List; stop cancels every waiting query") {
  TempDir dir;
  const std::string socket = dir.path() + "/pod-resources/kubelet.sock";
  udp::sim::PodResourcesServer sim;
  REQUIRE(sim.start(socket));
  auto reactor = makeReactor();
  PodResourcesClient client(*reactor, socket);

  std::optional<Answer> first, again;
  client.query([&](const Answer& r) {
    first.emplace(r);
    client.query([&](const Answer& r2) { again.emplace(r2); });
  });
  REQUIRE(runUntil(*reactor, client, [&] { return again.has_value(); }));
  CHECK(first->ok());
  CHECK(again->ok());
  CHECK(sim.calls() == 2);

  sim.hold(true);
  std::optional<Answer> a, b;
  client.query([&](const Answer& r) { a.emplace(r); });
  client.query([&](const Answer& r) { b.emplace(r); });
  client.stop();
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->error().code == static_cast<int>(udp::grpc::StatusCode::kCancelled));
  CHECK(b->error().code == static_cast<int>(udp::grpc::StatusCode::kCancelled));
  CHECK(runUntil(*reactor, client, [] { return true; }));
  sim.hold(false);
}
