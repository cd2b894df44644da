// UnaryClient against a real gRPC server: the simulator's PodResources server (grpc++) on a unix
// socket, so our client is judged by an independent implementation. Declared in
// tests/sim/meson.build, which is configured after tests/unit.

#include "grpc/unary_client.h"

#include <doctest/doctest.h>

#include <optional>

#include "../../support/temp_dir.h"
#include "pod_resources_server.h"
#include "podresources.pb.h"

using namespace std::chrono_literals;
using udp::grpc::Status;
using udp::grpc::StatusCode;
using udp::grpc::UnaryClient;
using udp::grpc::UnaryRequest;

namespace {

using udp::testing::TempDir;

struct Outcome {
  Status status;
  std::string response;
  std::chrono::steady_clock::duration took{};
};

// One server, one reactor, and calls run to their end.
struct Fixture {
  Fixture() {
    auto r = udp::reactor::Reactor::create(64);
    REQUIRE(r.ok());
    reactor = std::move(*r);
    v1::ListPodResourcesResponse content;
    content.add_pod_resources()->set_name("modem-0");
    sim.set(content);
    REQUIRE(sim.start(socket));
  }

  UnaryRequest list(std::chrono::nanoseconds deadline = 5s) const {
    UnaryRequest request;
    request.socketPath = socket;
    request.method = "/v1.PodResourcesLister/List";
    request.deadline = deadline;
    v1::ListPodResourcesRequest().SerializeToString(&request.message);
    return request;
  }

  std::unique_ptr<UnaryClient> start(UnaryRequest request) {
    auto started = std::chrono::steady_clock::now();
    auto client = std::make_unique<UnaryClient>(
        *reactor, std::move(request), [this, started](const Status& s, const std::string& r) {
          CHECK_FALSE(outcome.has_value());  // exactly once
          outcome = Outcome{s, r, std::chrono::steady_clock::now() - started};
        });
    client->start();
    return client;
  }

  // Runs the reactor until `done` holds, for at most `limit`.
  template <typename Pred>
  bool runUntil(Pred done, std::chrono::milliseconds limit = 6000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      reactor->runOnce(5ms);
    }
    return true;
  }

  Outcome call(UnaryRequest request) {
    auto client = start(std::move(request));
    REQUIRE(runUntil([&] { return outcome.has_value() && client->finished(); }));
    return *outcome;
  }

  TempDir dir;
  const std::string socket = dir.path() + "/pod-resources/kubelet.sock";
  udp::sim::PodResourcesServer sim;
  std::unique_ptr<udp::reactor::Reactor> reactor;
  std::optional<Outcome> outcome;
};

}  // namespace

TEST_CASE("a unary call: OK with the one response message") {
  Fixture f;
  Outcome out = f.call(f.list());
  REQUIRE_MESSAGE(out.status.ok(), out.status.message);
  v1::ListPodResourcesResponse response;
  REQUIRE(response.ParseFromString(out.response));
  REQUIRE(response.pod_resources_size() == 1);
  CHECK(response.pod_resources(0).name() == "modem-0");
  CHECK(f.sim.calls() == 1);
}

TEST_CASE("the server's error status and message come back") {
  Fixture f;
  UnaryRequest request = f.list();
  request.method = "/v1.PodResourcesLister/Nope";
  Outcome out = f.call(std::move(request));
  CHECK(out.status.code == StatusCode::kUnimplemented);
  CHECK(out.response.empty());
}

TEST_CASE("our deadline travels in grpc-timeout, less the time already spent") {
  Fixture f;
  Outcome out = f.call(f.list(3s));
  REQUIRE(out.status.ok());
  auto left = f.sim.lastTimeLeft();
  CHECK(left > 2s);
  CHECK(left <= 3s);
}

TEST_CASE("a server that does not answer in time: DEADLINE_EXCEEDED, and the call is cancelled") {
  Fixture f;
  f.sim.hold(true);
  auto client = f.start(f.list(300ms));
  REQUIRE(f.runUntil([&] { return f.outcome.has_value(); }));
  CHECK(f.outcome->status.code == StatusCode::kDeadlineExceeded);
  CHECK(f.outcome->took >= 290ms);  // the reactor's timers may end a hair early (seen: 299.88 ms)
  CHECK(f.outcome->took < 2s);
  // The server sees the call go away (our RST_STREAM / closed connection, or grpc++'s own
  // deadline from our grpc-timeout): nothing stays waiting on either side.
  REQUIRE(f.runUntil([&] { return client->finished() && f.sim.abandoned() == 1; }));
  f.sim.hold(false);
}

TEST_CASE("cancel: CANCELLED at once, and the server hears of it before any deadline") {
  Fixture f;
  f.sim.hold(true);
  auto client = f.start(f.list(60s));  // far away: only our cancel can end the server's wait
  REQUIRE(f.runUntil([&] { return f.sim.calls() == 1; }));
  CHECK_FALSE(f.outcome.has_value());
  client->cancel();
  REQUIRE(f.outcome.has_value());
  CHECK(f.outcome->status.code == StatusCode::kCancelled);
  REQUIRE(f.runUntil([&] { return client->finished() && f.sim.abandoned() == 1; }, 3000ms));
  f.sim.hold(false);
}

TEST_CASE("a request over the peer's 4 MiB limit is refused without connecting") {
  Fixture f;
  UnaryRequest request = f.list();
  request.message.assign(udp::grpc::kDefaultMaxMessageSize + 1, 'x');
  Outcome out = f.call(std::move(request));
  CHECK(out.status.code == StatusCode::kResourceExhausted);
  CHECK(f.sim.calls() == 0);
}

TEST_CASE("no server: UNAVAILABLE") {
  Fixture f;
  f.sim.stop();
  Outcome out = f.call(f.list());
  CHECK(out.status.code == StatusCode::kUnavailable);
}
