#pragma once

// The pluginregistration.Registration service that the kubelet's plugin watcher calls on a
// registration socket (docs/plugin-watcher.md): GetInfo answers what we are and where the
// device-plugin socket is; NotifyRegistrationStatus tells how the registration went. No I/O and
// no state of its own: the registration owns the decisions.

#include <string>
#include <string_view>

#include "grpc/service.h"
#include "pluginregistration.pb.h"

namespace udp::kubelet {

class PluginInfoListener {
 public:
  virtual ~PluginInfoListener() = default;
  // The kubelet asked who we are: it starts registering us (or, on kubelets that probe
  // registered plugins, checks that we are still there).
  virtual void onGetInfo() = 0;
  // The kubelet's verdict; `error` is empty when registered.
  virtual void onRegistrationStatus(bool registered, std::string_view error) = 0;
};

inline constexpr std::string_view kGetInfoPath = "/pluginregistration.Registration/GetInfo";
inline constexpr std::string_view kNotifyRegistrationStatusPath =
    "/pluginregistration.Registration/NotifyRegistrationStatus";

class PluginInfoService final : public grpc::Service {
 public:
  PluginInfoService(pluginregistration::PluginInfo info, PluginInfoListener& listener)
      : info_(std::move(info)), listener_(listener) {}

  const pluginregistration::PluginInfo& info() const { return info_; }

  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override;
  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override;
  grpc::Status openStream(const grpc::CallContext& call, std::string_view request,
                          grpc::ServerStream& stream) override;
  void streamClosed(grpc::ServerStream&) override {}

 private:
  pluginregistration::PluginInfo info_;
  PluginInfoListener& listener_;
};

// GetInfo's answer for a device plugin: type "DevicePlugin", the resource name, the absolute
// path of its device-plugin socket (the kubelet dials it as given), API version v1beta1.
pluginregistration::PluginInfo devicePluginInfo(std::string resourceName, std::string endpointPath);

// GetInfo's answer for a DRA driver (docs/dra-kubelet.md): type "DRAPlugin", the driver name,
// the absolute path of its dra.sock, the DRAPlugin services it serves newest first (the kubelet
// takes the first it knows), and the health service when served on the same socket.
pluginregistration::PluginInfo draPluginInfo(std::string driverName, std::string endpointPath,
                                             bool healthService);

}  // namespace udp::kubelet
