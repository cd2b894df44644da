#include "plugin/resource_service.h"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api.pb.h"

using namespace udp;

namespace {

constexpr std::string_view kPrefix = "/v1beta1.DevicePlugin/";

// A ListAndWatch stream as the service sees it: what was written, and how it ended.
class FakeStream final : public grpc::ServerStream {
 public:
  bool write(std::string_view message, bool) override {
    sent.push_back(std::make_shared<const std::string>(message));
    return true;
  }
  bool writeShared(std::shared_ptr<const std::string> message, bool supersedes) override {
    CHECK(supersedes);  // each list replaces the last: a slow kubelet must not queue a backlog
    sent.push_back(std::move(message));
    return true;
  }
  void finish(const grpc::Status& status) override { finished = status; }

  // The devices (ID, health) of the last list sent.
  std::vector<std::pair<std::string, std::string>> lastList() const {
    REQUIRE_FALSE(sent.empty());
    v1beta1::ListAndWatchResponse list;
    REQUIRE(list.ParseFromString(*sent.back()));
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& d : list.devices()) out.emplace_back(d.id(), d.health());
    return out;
  }

  std::vector<std::shared_ptr<const std::string>> sent;
  std::optional<grpc::Status> finished;
};

struct Recorder final : plugin::ServiceObserver {
  void onAllocate(const plugin::AllocationOutcome& o) override {
    allocations.push_back({o.deviceIds, o.containers, o.status.code, o.devices.size()});
  }
  void onPreStart(const plugin::AllocationOutcome& o) override {
    preStarts.push_back({o.deviceIds, o.containers, o.status.code, o.devices.size()});
  }
  void onListWithheld(const plugin::OversizeList& list) override {
    withheld.push_back(
        {std::string(list.resource), list.bytes, list.limit, list.devices, list.first});
  }
  void onListFitsAgain(std::string_view resource, size_t bytes) override {
    fitsAgain.emplace_back(resource, bytes);
  }

  struct Outcome {
    std::vector<std::string> ids;
    size_t containers;
    grpc::StatusCode code;
    size_t found;
  };
  struct Withheld {
    std::string resource;
    size_t bytes, limit, devices;
    bool first;
  };
  std::vector<Outcome> allocations, preStarts;
  std::vector<Withheld> withheld;
  std::vector<std::pair<std::string, size_t>> fitsAgain;
};

config::Resource serialResource() {
  config::Resource r;
  r.name = "example.com/serial";
  r.preferredAllocation = config::PreferredAllocation::kNuma;
  return r;
}

plugin::Device device(std::string id, bool healthy = true, std::string devnode = "") {
  plugin::Device d;
  d.id = std::move(id);
  d.healthy = healthy;
  d.devnode = std::move(devnode);
  return d;
}

std::string path(std::string_view method) {
  return std::string(kPrefix) + std::string(method);
}

grpc::Status unary(plugin::ResourceService& service, std::string_view method,
                   const google::protobuf::Message& request, std::string& response) {
  const std::string p = path(method);
  return service.handleUnary({p, "localhost", std::nullopt}, request.SerializeAsString(), response);
}

grpc::Status openWatch(plugin::ResourceService& service, FakeStream& stream) {
  const std::string p = path("ListAndWatch");
  return service.openStream({p, "localhost", std::nullopt}, v1beta1::Empty().SerializeAsString(),
                            stream);
}

using List = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("method routing: one stream, four unary methods, nothing else") {
  plugin::ResourceService service(serialResource());
  CHECK(service.methodKind(path("ListAndWatch")) == grpc::MethodKind::kServerStreaming);
  for (auto m :
       {"GetDevicePluginOptions", "Allocate", "GetPreferredAllocation", "PreStartContainer"}) {
    CHECK(service.methodKind(path(m)) == grpc::MethodKind::kUnary);
  }
  CHECK_FALSE(service.methodKind(path("Nope")).has_value());
  CHECK_FALSE(service.methodKind("/v1beta1.Registration/Register").has_value());
  CHECK_FALSE(service.methodKind("/v1beta2.DevicePlugin/Allocate").has_value());

  std::string response;
  const std::string p = path("Nope");
  CHECK(service.handleUnary({p, "localhost", std::nullopt}, "", response).code ==
        grpc::StatusCode::kUnimplemented);
  FakeStream stream;
  CHECK(service.openStream({path("Allocate"), "localhost", std::nullopt}, "", stream).code ==
        grpc::StatusCode::kUnimplemented);
  CHECK(service.streamCount() == 0);
}

TEST_CASE("GetDevicePluginOptions advertises preferred allocation only when configured") {
  config::Resource plain = serialResource();
  plain.preferredAllocation = config::PreferredAllocation::kNone;
  for (bool numa : {true, false}) {
    plugin::ResourceService service(numa ? serialResource() : plain);
    std::string response;
    REQUIRE(unary(service, "GetDevicePluginOptions", v1beta1::Empty(), response).ok());
    v1beta1::DevicePluginOptions options;
    REQUIRE(options.ParseFromString(response));
    CHECK_FALSE(options.pre_start_required());
    CHECK(options.get_preferred_allocation_available() == numa);
  }
}

TEST_CASE("unparsable requests are INVALID_ARGUMENT") {
  plugin::ResourceService service(serialResource());
  std::string response;
  for (auto m :
       {"GetDevicePluginOptions", "Allocate", "GetPreferredAllocation", "PreStartContainer"}) {
    const std::string p = path(m);
    CHECK(service.handleUnary({p, "localhost", std::nullopt}, "\xff\xff\xff", response).code ==
          grpc::StatusCode::kInvalidArgument);
  }
  FakeStream stream;
  const std::string p = path("ListAndWatch");
  CHECK(service.openStream({p, "localhost", std::nullopt}, "\xff", stream).code ==
        grpc::StatusCode::kInvalidArgument);
  CHECK(service.streamCount() == 0);
}

TEST_CASE("Allocate and PreStartContainer answer from the inventory and tell the observer") {
  Recorder recorder;
  plugin::ResourceService service(serialResource(), &recorder);
  service.inventory().upsert(device("FT1", true, "/dev/ttyUSB0"));
  service.inventory().upsert(device("FT2", true, "/dev/ttyUSB1"));

  v1beta1::AllocateRequest allocate;
  allocate.add_container_requests()->add_devices_ids("FT1");
  std::string response;
  REQUIRE(unary(service, "Allocate", allocate, response).ok());
  v1beta1::AllocateResponse answer;
  REQUIRE(answer.ParseFromString(response));
  REQUIRE(answer.container_responses_size() == 1);
  REQUIRE(answer.container_responses(0).devices_size() == 1);
  CHECK(answer.container_responses(0).devices(0).host_path() == "/dev/ttyUSB0");
  REQUIRE(recorder.allocations.size() == 1);
  CHECK(recorder.allocations[0].ids == std::vector<std::string>{"FT1"});
  CHECK(recorder.allocations[0].code == grpc::StatusCode::kOk);
  CHECK(recorder.allocations[0].found == 1);

  v1beta1::AllocateRequest unknown;
  unknown.add_container_requests()->add_devices_ids("FT9");
  response.clear();
  CHECK_FALSE(unary(service, "Allocate", unknown, response).ok());
  CHECK(response.empty());
  REQUIRE(recorder.allocations.size() == 2);
  CHECK(recorder.allocations[1].code != grpc::StatusCode::kOk);
  CHECK(recorder.allocations[1].found == 0);

  v1beta1::PreStartContainerRequest preStart;
  preStart.add_devices_ids("FT2");
  CHECK(unary(service, "PreStartContainer", preStart, response).ok());
  preStart.add_devices_ids("FT9");
  grpc::Status status = unary(service, "PreStartContainer", preStart, response);
  CHECK(status.code == grpc::StatusCode::kInvalidArgument);
  CHECK(status.message.find("FT9") != std::string::npos);
  REQUIRE(recorder.preStarts.size() == 2);
  CHECK(recorder.preStarts[0].code == grpc::StatusCode::kOk);
  CHECK(recorder.preStarts[1].ids == std::vector<std::string>{"FT2", "FT9"});
}

TEST_CASE("GetPreferredAllocation answers with the requested number of devices") {
  plugin::ResourceService service(serialResource());
  for (auto id : {"a", "b", "c"}) service.inventory().upsert(device(id));
  v1beta1::PreferredAllocationRequest request;
  auto* c = request.add_container_requests();
  for (auto id : {"a", "b", "c"}) c->add_available_deviceids(id);
  c->set_allocation_size(2);
  std::string response;
  REQUIRE(unary(service, "GetPreferredAllocation", request, response).ok());
  v1beta1::PreferredAllocationResponse answer;
  REQUIRE(answer.ParseFromString(response));
  REQUIRE(answer.container_responses_size() == 1);
  CHECK(answer.container_responses(0).deviceids_size() == 2);
}

TEST_CASE("ListAndWatch: the list at once, then one message per turn with changes") {
  plugin::ResourceService service(serialResource());
  service.inventory().upsert(device("a"));
  FakeStream first;
  REQUIRE(openWatch(service, first).ok());
  CHECK(service.streamCount() == 1);
  REQUIRE(first.sent.size() == 1);
  CHECK(first.lastList() == List{{"a", "Healthy"}});

  service.publishIfChanged();  // nothing changed
  CHECK(first.sent.size() == 1);

  // Three changes in one turn: one message.
  service.inventory().upsert(device("b"));
  service.inventory().upsert(device("a", false));
  service.inventory().upsert(device("c"));
  service.publishIfChanged();
  REQUIRE(first.sent.size() == 2);
  CHECK(first.lastList() == List{{"a", "Unhealthy"}, {"b", "Healthy"}, {"c", "Healthy"}});

  // A second stream gets the same bytes, not a second encoding.
  FakeStream second;
  REQUIRE(openWatch(service, second).ok());
  REQUIRE(second.sent.size() == 1);
  CHECK(second.sent[0] == first.sent[1]);

  service.inventory().remove("b");
  service.publishIfChanged();
  CHECK(first.sent.size() == 3);
  CHECK(second.sent.size() == 2);
  CHECK(second.lastList() == List{{"a", "Unhealthy"}, {"c", "Healthy"}});

  service.streamClosed(first);
  CHECK(service.streamCount() == 1);
  service.inventory().remove("c");
  service.publishIfChanged();
  CHECK(first.sent.size() == 3);
  CHECK(second.sent.size() == 3);

  service.endStreams();
  CHECK_FALSE(first.finished.has_value());
  REQUIRE(second.finished.has_value());
  CHECK(second.finished->ok());
}

TEST_CASE("a list over the limit is not sent: the streams keep the last one that fitted") {
  Recorder recorder;
  // Each device "dNN" healthy encodes in 2 + 1 + 1 + 3 + 1 + 1 + 7 = 16 bytes.
  constexpr uint32_t kLimit = 16 * 4;
  plugin::ResourceService service(serialResource(), &recorder, kLimit);
  for (auto id : {"d00", "d01", "d02", "d03"}) service.inventory().upsert(device(id));
  FakeStream stream;
  REQUIRE(openWatch(service, stream).ok());
  REQUIRE(stream.sent.size() == 1);
  CHECK(stream.sent[0]->size() == kLimit);  // exactly at the limit is allowed
  CHECK_FALSE(service.listWithheld());

  service.inventory().upsert(device("d04"));
  service.publishIfChanged();
  CHECK(stream.sent.size() == 1);
  CHECK(service.listWithheld());
  REQUIRE(recorder.withheld.size() == 1);
  CHECK(recorder.withheld[0].resource == "example.com/serial");
  CHECK(recorder.withheld[0].bytes == kLimit + 16);
  CHECK(recorder.withheld[0].limit == kLimit);
  CHECK(recorder.withheld[0].devices == 5);
  CHECK(recorder.withheld[0].first);

  // Still too large after another change: counted again, not a new episode.
  service.inventory().upsert(device("d05"));
  service.publishIfChanged();
  CHECK(stream.sent.size() == 1);
  REQUIRE(recorder.withheld.size() == 2);
  CHECK_FALSE(recorder.withheld[1].first);
  service.publishIfChanged();  // no change: no new report
  CHECK(recorder.withheld.size() == 2);

  // A stream opened now (the kubelet registered again) gets the last good list.
  FakeStream late;
  REQUIRE(openWatch(service, late).ok());
  REQUIRE(late.sent.size() == 1);
  CHECK(late.sent[0] == stream.sent[0]);
  CHECK(late.lastList().size() == 4);
  CHECK(recorder.withheld.size() == 2);

  service.inventory().remove("d05");
  service.inventory().remove("d04");
  service.inventory().remove("d03");
  service.inventory().upsert(device("d07"));
  service.publishIfChanged();
  CHECK_FALSE(service.listWithheld());
  REQUIRE(stream.sent.size() == 2);
  CHECK(stream.lastList().back() == std::pair<std::string, std::string>{"d07", "Healthy"});
  CHECK(late.sent.size() == 2);
  REQUIRE(recorder.fitsAgain.size() == 1);
  CHECK(recorder.fitsAgain[0] == std::pair<std::string, size_t>{"example.com/serial", kLimit});

  // The next episode is a new one.
  service.inventory().upsert(device("d09"));
  service.publishIfChanged();
  REQUIRE(recorder.withheld.size() == 3);
  CHECK(recorder.withheld[2].first);
}

TEST_CASE("the first list already too large: the stream opens and nothing is sent") {
  Recorder recorder;
  plugin::ResourceService service(serialResource(), &recorder, 10);
  service.inventory().upsert(device("d00"));
  FakeStream stream;
  REQUIRE(openWatch(service, stream).ok());
  CHECK(stream.sent.empty());
  CHECK(service.streamCount() == 1);
  REQUIRE(recorder.withheld.size() == 1);
  service.inventory().remove("d00");
  service.publishIfChanged();
  REQUIRE(stream.sent.size() == 1);
  CHECK(stream.lastList().empty());
}

TEST_CASE("the default limit is grpc-go's 4 MiB of message, to the byte") {
  plugin::ResourceService service(serialResource());
  // One device: ID of L bytes → Device of L + 4 + 1 + 9 bytes → list of L + 19 bytes (every
  // length varint here takes 4 bytes).
  const size_t fits = grpc::kDefaultMaxMessageSize - 19;
  service.inventory().upsert(device(std::string(fits, 'x')));
  FakeStream stream;
  REQUIRE(openWatch(service, stream).ok());
  REQUIRE(stream.sent.size() == 1);
  CHECK(stream.sent[0]->size() == 4194304);

  service.inventory().remove(std::string(fits, 'x'));
  service.inventory().upsert(device(std::string(fits + 1, 'x')));
  service.publishIfChanged();
  CHECK(stream.sent.size() == 1);
  CHECK(service.listWithheld());
}
