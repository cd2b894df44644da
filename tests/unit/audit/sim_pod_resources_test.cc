// The kubelet simulator's PodResources option (SimOptions::podResourcesSocket), checked with a
// grpc++ client. Without src/: it is the simulator under test here, not our client.

#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "../../support/temp_dir.h"
#include "kubelet_sim.h"
#include "podresources.grpc.pb.h"

using namespace std::chrono_literals;

namespace {

using udp::testing::TempDir;

grpc::Status list(const std::string& socket, v1::ListPodResourcesResponse* out) {
  auto stub = v1::PodResourcesLister::NewStub(
      grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  return stub->List(&context, v1::ListPodResourcesRequest(), out);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("the simulator serves PodResources List on its socket, across kubelet restarts") {
  TempDir dir;
  const std::string socket = dir.path() + "/pod-resources/kubelet.sock";
  udp::sim::KubeletSim sim({.dir = dir.path() + "/device-plugins", .podResourcesSocket = socket});
  v1::ListPodResourcesResponse content;
  auto* pod = content.add_pod_resources();
  pod->set_name("modem-0");
  pod->set_namespace_("edge");
  auto* devices = pod->add_containers()->add_devices();
  devices->set_resource_name("example.com/serial");
  devices->add_device_ids("FT1");
  sim.setPodResources(content);
  REQUIRE(sim.start());

  v1::ListPodResourcesResponse answer;
  grpc::Status status = list(socket, &answer);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  CHECK(answer.SerializeAsString() == content.SerializeAsString());
  CHECK(sim.podResourcesCalls() == 1);

  REQUIRE(sim.restart());
  sim.setPodResources({});
  answer.Clear();
  status = list(socket, &answer);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  CHECK(answer.pod_resources_size() == 0);

  sim.stop();
  CHECK_FALSE(exists(socket));
}

TEST_CASE("without podResourcesSocket the simulator serves no PodResources") {
  TempDir dir;
  udp::sim::KubeletSim sim({.dir = dir.path() + "/device-plugins"});
  REQUIRE(sim.start());
  CHECK_FALSE(exists(dir.path() + "/pod-resources"));
  CHECK(sim.podResourcesCalls() == 0);
}
