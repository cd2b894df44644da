#include "kubelet/pod_resources.h"

#include <doctest/doctest.h>

using udp::kubelet::Holder;
using udp::kubelet::holdersOf;

namespace {

void addDevices(v1::ContainerResources& container, const std::string& resource,
                std::vector<std::string> ids) {
  auto* devices = container.add_devices();
  devices->set_resource_name(resource);
  for (auto& id : ids) devices->add_device_ids(id);
}

// Two pods: modem-0 (edge) holds FT1 of the serial resource in "agent" and FT1 of another
// resource in "sidecar"; logger (default) holds FT2 and FT1 of the serial resource in "tail".
v1::ListPodResourcesResponse sampleResponse() {
  v1::ListPodResourcesResponse response;
  auto* modem = response.add_pod_resources();
  modem->set_name("modem-0");
  modem->set_namespace_("edge");
  auto* agent = modem->add_containers();
  agent->set_name("agent");
  agent->add_cpu_ids(3);
  addDevices(*agent, "example.com/serial", {"FT1"});
  auto* sidecar = modem->add_containers();
  sidecar->set_name("sidecar");
  addDevices(*sidecar, "example.com/other", {"FT1"});

  auto* logger = response.add_pod_resources();
  logger->set_name("logger");
  logger->set_namespace_("default");
  auto* tail = logger->add_containers();
  tail->set_name("tail");
  addDevices(*tail, "example.com/gpu", {"g0"});
  addDevices(*tail, "example.com/serial", {"FT2", "FT1"});
  logger->add_containers()->set_name("idle");
  return response;
}

}  // namespace

TEST_CASE("holdersOf finds every container holding the device, in order") {
  auto response = sampleResponse();
  CHECK(holdersOf(response, "example.com/serial", "FT1") ==
        std::vector<Holder>{{"modem-0", "edge", "agent"}, {"logger", "default", "tail"}});
  CHECK(holdersOf(response, "example.com/serial", "FT2") ==
        std::vector<Holder>{{"logger", "default", "tail"}});
}

TEST_CASE("holdersOf matches the resource and the ID exactly") {
  auto response = sampleResponse();
  CHECK(holdersOf(response, "example.com/other", "FT1") ==
        std::vector<Holder>{{"modem-0", "edge", "sidecar"}});
  CHECK(holdersOf(response, "example.com/serial", "FT3").empty());
  CHECK(holdersOf(response, "example.com/serial", "FT").empty());
  CHECK(holdersOf(response, "example.com/seria", "FT1").empty());
  CHECK(holdersOf(v1::ListPodResourcesResponse(), "example.com/serial", "FT1").empty());
}

TEST_CASE("the wire format is the kubelet's: field numbers as upstream") {
  // pod_resources{name: "p", namespace: "n", containers{name: "c", devices{resource_name: "r",
  // device_ids: "d"}}}, encoded by hand from k8s.io/kubelet/pkg/apis/podresources/v1.
  const std::string wire(
      "\x0a\x17\x0a\x01p\x12\x01n\x1a\x0f\x0a\x01"
      "c\x12\x0a\x0a\x01r\x12\x01"
      "d\x1a\x02\x0a\x00",
      25);
  v1::ListPodResourcesResponse response;
  REQUIRE(response.ParseFromString(wire));
  CHECK(holdersOf(response, "r", "d") == std::vector<Holder>{{"p", "n", "c"}});
  REQUIRE(response.pod_resources(0).containers(0).devices(0).has_topology());
}
