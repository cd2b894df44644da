// DRAResourceHealth: the whole list when a stream opens and after each change, changes within a
// turn coalesced, removed devices kept UNHEALTHY (bounded), messages cut to valid UTF-8, and the
// v1alpha1 refresh that only exists while such a stream is open.

#include "draplugin/health_service.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dra_health.pb.h"

namespace udp::draplugin {
namespace {

using namespace std::chrono_literals;

struct RecordingStream final : grpc::ServerStream {
  std::vector<std::string> messages;
  std::optional<grpc::Status> finished;
  bool write(std::string_view message, bool) override {
    messages.emplace_back(message);
    return true;
  }
  bool writeShared(std::shared_ptr<const std::string> message, bool) override {
    messages.push_back(*message);
    return true;
  }
  void finish(const grpc::Status& status) override { finished = status; }
  ::v1::NodeWatchResourcesResponse last() const {
    ::v1::NodeWatchResourcesResponse r;
    REQUIRE_FALSE(messages.empty());
    REQUIRE(r.ParseFromString(messages.back()));
    return r;
  }
};

std::unique_ptr<reactor::Reactor> makeReactor() {
  auto r = reactor::Reactor::create(reactor::Backend::kAuto, 64);
  REQUIRE(r.ok());
  return std::move(*r);
}

grpc::Status open(HealthService& service, std::string_view path, RecordingStream& stream) {
  grpc::CallContext context{path, "localhost", std::nullopt};
  return service.openStream(context, "", stream);
}

DeviceHealth device(std::string name, bool healthy, std::string message = "") {
  return {"node-1", std::move(name), healthy, std::move(message), false};
}

}  // namespace

TEST_CASE("health: the list at open, the whole list again after changes, one per turn") {
  auto reactor = makeReactor();
  HealthService service(*reactor);
  service.healthChanged({device("tty-a", true), device("tty-b", true)});
  RecordingStream stream;
  REQUIRE(open(service, kWatchResourcesV1, stream).ok());
  REQUIRE(stream.messages.size() == 1);
  auto first = stream.last();
  REQUIRE(first.devices_size() == 2);
  CHECK(first.devices(0).device().pool_name() == "node-1");
  CHECK(first.devices(0).device().device_name() == "tty-a");
  CHECK(first.devices(0).health() == ::v1::HEALTHY);
  CHECK(first.devices(0).health_check_timeout_seconds() == kHealthCheckTimeoutSeconds);
  CHECK(first.devices(0).last_updated_time() > 1600000000);

  service.publishIfChanged();
  CHECK(stream.messages.size() == 1);  // nothing changed
  service.healthChanged({device("tty-b", false, "attribute online is 0")});
  service.healthChanged({device("tty-a", true)});  // the same: no change
  service.publishIfChanged();
  REQUIRE(stream.messages.size() == 2);
  auto second = stream.last();
  REQUIRE(second.devices_size() == 2);  // every device, not only the changed one
  CHECK(second.devices(1).health() == ::v1::UNHEALTHY);
  CHECK(second.devices(1).message() == "attribute online is 0");

  // Removed: still listed, UNHEALTHY, with what happened.
  DeviceHealth gone = device("tty-a", true, "removed");
  gone.removed = true;
  service.healthChanged({gone});
  service.publishIfChanged();
  auto third = stream.last();
  CHECK(third.devices(0).health() == ::v1::UNHEALTHY);
  CHECK(third.devices(0).message() == "removed");
  service.streamClosed(stream);
  service.healthChanged({device("tty-c", true)});
  service.publishIfChanged();
  CHECK(stream.messages.size() == 3);  // a closed stream hears nothing
}

TEST_CASE("health: removed devices are bounded; messages are cut to 1024 bytes of UTF-8") {
  auto reactor = makeReactor();
  HealthService service(*reactor);
  for (size_t i = 0; i < kMaxRemovedDevices + 10; ++i) {
    DeviceHealth gone = device("d" + std::to_string(i), false, "removed");
    gone.removed = true;
    service.healthChanged({gone});
  }
  CHECK(service.deviceCount() == kMaxRemovedDevices);
  // Back again: not counted as removed any more.
  service.healthChanged({device("d" + std::to_string(kMaxRemovedDevices + 9), true)});
  CHECK(service.deviceCount() == kMaxRemovedDevices);

  HealthService fresh(*reactor);
  std::string long_(1023, 'x');
  fresh.healthChanged({device("e", false, long_ + "\xc3\xa9" + "\xff")});
  RecordingStream stream;
  REQUIRE(open(fresh, kWatchResourcesV1, stream).ok());
  std::string message = stream.last().devices(0).message();
  CHECK(message == long_);  // the é would cross 1024 bytes: cut before it, never inside
}

TEST_CASE("health: v1alpha1 streams get the list again while open; no timer otherwise") {
  auto reactor = makeReactor();
  HealthService service(*reactor, nullptr, 30ms);
  service.healthChanged({device("tty-a", true)});
  RecordingStream modern;
  REQUIRE(open(service, kWatchResourcesV1, modern).ok());
  CHECK(service.idle());  // 1.37's streams need no timer
  RecordingStream legacy;
  REQUIRE(open(service, kWatchResourcesV1alpha1, legacy).ok());
  CHECK_FALSE(service.idle());
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (legacy.messages.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    reactor->runOnce(10ms);
  }
  CHECK(legacy.messages.size() >= 3);
  CHECK(modern.messages.size() == 1);
  service.streamClosed(legacy);
  for (int i = 0; i < 50 && !service.idle(); ++i) reactor->runOnce(10ms);
  CHECK(service.idle());  // the last legacy stream took the timer with it
}

TEST_CASE("health: endStreams finishes every stream with OK and refuses new ones") {
  auto reactor = makeReactor();
  HealthService service(*reactor, nullptr, 30ms);
  RecordingStream a, b;
  REQUIRE(open(service, kWatchResourcesV1, a).ok());
  REQUIRE(open(service, kWatchResourcesV1alpha1, b).ok());
  service.endStreams();
  REQUIRE(a.finished);
  CHECK(a.finished->ok());
  REQUIRE(b.finished);
  RecordingStream late;
  CHECK(open(service, kWatchResourcesV1, late).code == grpc::StatusCode::kUnavailable);
  CHECK(service.methodKind("/v1.DRAResourceHealth/NodeWatchResources") ==
        grpc::MethodKind::kServerStreaming);
  CHECK_FALSE(service.methodKind("/v1beta1.DRAResourceHealth/NodeWatchResources"));
  for (int i = 0; i < 50 && !service.idle(); ++i) reactor->runOnce(10ms);
  CHECK(service.idle());
}

}  // namespace udp::draplugin
