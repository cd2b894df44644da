// The pluginregistration.Registration service on its own: what GetInfo answers for a device
// plugin, what NotifyRegistrationStatus passes on, and what it refuses.

#include "kubelet/plugin_info_service.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/resource_name.h"
#include "kubelet/plugin_watcher_registration.h"

namespace udp::kubelet {
namespace {

struct Recorder final : PluginInfoListener {
  void onGetInfo() override { ++infoCalls; }
  void onRegistrationStatus(bool registered, std::string_view error) override {
    statuses.push_back({registered, std::string(error)});
  }
  int infoCalls = 0;
  std::vector<std::pair<bool, std::string>> statuses;
};

grpc::Status call(PluginInfoService& service, std::string_view path, const std::string& request,
                  std::string& response) {
  grpc::CallContext context{path, "localhost", std::nullopt};
  return service.handleUnary(context, request, response);
}

}  // namespace

TEST_CASE("GetInfo names a DevicePlugin: the resource, the absolute endpoint, v1beta1") {
  Recorder recorder;
  PluginInfoService service(
      devicePluginInfo("example.com/serial", "/var/lib/kubelet/plugins/u/example.com_serial.sock"),
      recorder);
  CHECK(service.methodKind("/pluginregistration.Registration/GetInfo") == grpc::MethodKind::kUnary);
  std::string response;
  grpc::Status status = call(service, "/pluginregistration.Registration/GetInfo",
                             pluginregistration::InfoRequest().SerializeAsString(), response);
  REQUIRE(status.ok());
  pluginregistration::PluginInfo info;
  REQUIRE(info.ParseFromString(response));
  CHECK(info.type() == "DevicePlugin");
  CHECK(info.name() == "example.com/serial");
  CHECK(info.endpoint() == "/var/lib/kubelet/plugins/u/example.com_serial.sock");
  REQUIRE(info.supported_versions_size() == 1);
  CHECK(info.supported_versions(0) == "v1beta1");
  CHECK(recorder.infoCalls == 1);
}

TEST_CASE("GetInfo names a DRAPlugin: the driver, its dra.sock, the services newest first") {
  pluginregistration::PluginInfo info =
      draPluginInfo("udev.example.com", "/var/lib/kubelet/plugins/udev.example.com/dra.sock", true);
  CHECK(info.type() == "DRAPlugin");
  CHECK(info.name() == "udev.example.com");
  CHECK(info.endpoint() == "/var/lib/kubelet/plugins/udev.example.com/dra.sock");
  std::vector<std::string> versions(info.supported_versions().begin(),
                                    info.supported_versions().end());
  CHECK(versions ==
        std::vector<std::string>{"v1.DRAPlugin", "v1beta1.DRAPlugin", "v1.DRAResourceHealth"});
  pluginregistration::PluginInfo noHealth = draPluginInfo("d.example.com", "/p/dra.sock", false);
  CHECK(noHealth.supported_versions_size() == 2);
  CHECK(registrationSocketFor("udev.example.com") == "udev.example.com-reg.sock");
}

TEST_CASE("NotifyRegistrationStatus passes the kubelet's verdict on") {
  Recorder recorder;
  PluginInfoService service(devicePluginInfo("example.com/a", "/p/example.com_a.sock"), recorder);
  pluginregistration::RegistrationStatus refused;
  refused.set_plugin_registered(false);
  refused.set_error("RegisterPlugin error -- plugin registration failed with err: dial");
  pluginregistration::RegistrationStatus accepted;
  accepted.set_plugin_registered(true);
  std::string response = "x";
  constexpr std::string_view kPath = "/pluginregistration.Registration/NotifyRegistrationStatus";
  REQUIRE(call(service, kPath, refused.SerializeAsString(), response).ok());
  CHECK(response.empty());  // RegistrationStatusResponse{} encodes to nothing
  REQUIRE(call(service, kPath, accepted.SerializeAsString(), response).ok());
  REQUIRE(recorder.statuses.size() == 2);
  CHECK_FALSE(recorder.statuses[0].first);
  CHECK(recorder.statuses[0].second == refused.error());
  CHECK(recorder.statuses[1].first);
  CHECK(recorder.statuses[1].second.empty());
  CHECK(recorder.infoCalls == 0);
}

TEST_CASE("unknown methods and unparsable requests are refused without telling the listener") {
  Recorder recorder;
  PluginInfoService service(devicePluginInfo("example.com/a", "/p/a.sock"), recorder);
  CHECK_FALSE(service.methodKind("/v1beta1.DevicePlugin/ListAndWatch").has_value());
  CHECK_FALSE(service.methodKind("/pluginregistration.Registration/Register").has_value());
  std::string response;
  CHECK(call(service, "/pluginregistration.Registration/Nope", "", response).code ==
        grpc::StatusCode::kUnimplemented);
  // Field 1 as a varint of 64 bytes of continuation: no valid protobuf.
  std::string garbage(1, '\x08');
  garbage.append(12, '\xff');
  CHECK(
      call(service, "/pluginregistration.Registration/NotifyRegistrationStatus", garbage, response)
          .code == grpc::StatusCode::kInvalidArgument);
  CHECK(recorder.statuses.empty());
}

TEST_CASE("registration socket names: one per resource, no '/'") {
  CHECK(registrationSocketFor("example.com/serial") == "example.com_serial-reg.sock");
  // "a.b/c_d" and "a.b_c/d" would share a file, but the second is no resource name: '_' cannot
  // occur in the domain part, so the first '_' of a file name is always the '/'.
  CHECK(registrationSocketFor("a.b/c_d") == "a.b_c_d-reg.sock");
  CHECK(config::resourceNameError("a.b_c/d").has_value());
  CHECK_FALSE(config::resourceNameError("a.b/c_d").has_value());
  CHECK(endpointFor("example.com/serial") == "example.com_serial.sock");
}

}  // namespace udp::kubelet
