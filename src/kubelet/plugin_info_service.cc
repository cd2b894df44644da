#include "kubelet/plugin_info_service.h"

namespace udp::kubelet {
namespace {

template <typename Message>
bool parse(std::string_view bytes, Message& message) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

pluginregistration::PluginInfo devicePluginInfo(std::string resourceName,
                                                std::string endpointPath) {
  pluginregistration::PluginInfo info;
  info.set_type("DevicePlugin");  // pluginregistration/v1 constants.go: DevicePlugin
  info.set_name(std::move(resourceName));
  info.set_endpoint(std::move(endpointPath));
  info.add_supported_versions("v1beta1");
  return info;
}

pluginregistration::PluginInfo draPluginInfo(std::string driverName, std::string endpointPath,
                                             bool healthService) {
  pluginregistration::PluginInfo info;
  info.set_type("DRAPlugin");  // pluginregistration/v1 constants.go: DRAPlugin
  info.set_name(std::move(driverName));
  info.set_endpoint(std::move(endpointPath));
  // "<proto package's last part>.<service>", as the kubelet's DRAPluginService constants spell
  // them; 1.34 and 1.37 pick the first entry they support, in our order.
  info.add_supported_versions("v1.DRAPlugin");
  info.add_supported_versions("v1beta1.DRAPlugin");
  // 1.37 opens the health stream only when this names a version it knows; kubelets before it
  // call v1alpha1 whenever their ResourceHealthStatus gate is on, whatever is advertised.
  if (healthService) info.add_supported_versions("v1.DRAResourceHealth");
  return info;
}

std::optional<grpc::MethodKind> PluginInfoService::methodKind(std::string_view path) const {
  if (path == kGetInfoPath || path == kNotifyRegistrationStatusPath) {
    return grpc::MethodKind::kUnary;
  }
  return std::nullopt;
}

grpc::Status PluginInfoService::handleUnary(const grpc::CallContext& call, std::string_view request,
                                            std::string& response) {
  if (call.path == kGetInfoPath) {
    pluginregistration::InfoRequest empty;
    if (!parse(request, empty))
      return {grpc::StatusCode::kInvalidArgument, "cannot parse InfoRequest"};
    listener_.onGetInfo();
    info_.SerializeToString(&response);
    return grpc::Status::Ok();
  }
  if (call.path == kNotifyRegistrationStatusPath) {
    pluginregistration::RegistrationStatus status;
    if (!parse(request, status)) {
      return {grpc::StatusCode::kInvalidArgument, "cannot parse RegistrationStatus"};
    }
    listener_.onRegistrationStatus(status.plugin_registered(), status.error());
    pluginregistration::RegistrationStatusResponse().SerializeToString(&response);
    return grpc::Status::Ok();
  }
  return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
}

grpc::Status PluginInfoService::openStream(const grpc::CallContext& call, std::string_view,
                                           grpc::ServerStream&) {
  return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
}

}  // namespace udp::kubelet
