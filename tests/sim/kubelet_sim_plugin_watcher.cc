// KubeletSim's plugin-watcher mode: what pkg/kubelet/pluginmanager/operationexecutor's
// GenerateRegisterPluginFunc and GenerateUnregisterPluginFunc do with a registration socket, and
// what the device manager's plugin handler (cm/devicemanager/plugin/v1beta1/handler.go) does
// inside them. Runs on the RegistryWatcher's thread.

#include <algorithm>

#include <grpc/compression.h>

#include "kubelet_rules.h"
#include "kubelet_sim.h"
#include "pluginregistration.grpc.pb.h"

namespace udp::sim {
namespace {

using namespace std::chrono_literals;

constexpr auto kDialTimeout = 10s;    // operation_generator.go dialTimeoutDuration
constexpr auto kGetInfoTimeout = 1s;  // GetInfo's context.WithTimeout(ctx, time.Second)
constexpr auto kNotifyTimeout = 5s;   // notifyTimeoutDuration
constexpr auto kEndpointDial = 10s;   // devicemanager client.go dial()

// Dial `socket` and wait for the connection (grpc.WithBlock); gives up early on a refused
// connection so that the watcher's thread is not held for the whole dial timeout: the kubelet's
// retry comes from the reconciler's backoff either way.
std::shared_ptr<grpc::Channel> dialBlocking(const std::string& socket,
                                            std::chrono::seconds timeout) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  args.SetCompressionAlgorithm(GRPC_COMPRESS_NONE);
  auto channel =
      grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
  auto deadline = std::chrono::system_clock::now() + timeout;
  while (true) {
    grpc_connectivity_state state = channel->GetState(true);
    if (state == GRPC_CHANNEL_READY) return channel;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return nullptr;
    if (!channel->WaitForStateChange(state, deadline)) return nullptr;
  }
}

}  // namespace

RegistryWatcher::Outcome KubeletSim::registerSocket(const std::string& socket) {
  auto channel = dialBlocking(socket, kDialTimeout);
  if (!channel) return RegistryWatcher::Outcome::kRetry;  // "dial failed at socket"
  auto registration = pluginregistration::Registration::NewStub(channel);

  pluginregistration::PluginInfo info;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kGetInfoTimeout);
    if (!registration->GetInfo(&ctx, pluginregistration::InfoRequest(), &info).ok())
      return RegistryWatcher::Outcome::kRetry;
  }

  auto notify = [&](bool registered, const std::string& error) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kNotifyTimeout);
    pluginregistration::RegistrationStatus status;
    status.set_plugin_registered(registered);
    status.set_error(error);
    pluginregistration::RegistrationStatusResponse response;
    bool sent = registration->NotifyRegistrationStatus(&ctx, status, &response).ok();
    std::lock_guard lock(mutex_);
    registrationNotices_ += sent;
    if (!registered) registrationErrors_.push_back(error);
    changed_.notify_all();
  };

  // Only the handlers the kubelet adds: CSIPlugin, DevicePlugin, DRAPlugin (with its gate).
  if (info.type() != "DevicePlugin") {
    notify(false, "RegisterPlugin error -- no handler registered for plugin type: " + info.type() +
                      " at socket " + socket);
    return RegistryWatcher::Outcome::kRetry;
  }
  std::string endpoint = info.endpoint().empty() ? socket : info.endpoint();
  // The device plugin handler's ValidatePlugin.
  const auto& versions = info.supported_versions();
  if (std::find(versions.begin(), versions.end(), "v1beta1") == versions.end()) {
    notify(false,
           "RegisterPlugin error -- plugin validation failed with err: manager version, v1beta1, "
           "is not among plugin supported versions");
    return RegistryWatcher::Outcome::kRetry;
  }
  if (!isExtendedResourceName(info.name())) {
    notify(false,
           "RegisterPlugin error -- plugin validation failed with err: invalid name of device "
           "plugin socket: the ResourceName \"" +
               info.name() + "\" is invalid");
    return RegistryWatcher::Outcome::kRetry;
  }
  // Into the actual state of the world before the handler runs: from here on a failure is not
  // retried until the socket is created again.
  {
    std::lock_guard lock(mutex_);
    registeredSockets_[socket] = info.name();
  }
  // handler.RegisterPlugin dials the endpoint as given: "unix:" + a relative path would resolve
  // against our working directory, as it does against the kubelet's.
  if (auto error = connectClient(info.name(), "unix:" + endpoint, endpoint, socket,
                                 std::chrono::system_clock::now() + kEndpointDial, nullptr)) {
    notify(false, "RegisterPlugin error -- plugin registration failed with err: " + *error);
    return RegistryWatcher::Outcome::kHeld;
  }
  notify(true, "");
  return RegistryWatcher::Outcome::kRegistered;
}

void KubeletSim::unregisterSocket(const std::string& socket) {
  std::string resource;
  {
    std::lock_guard lock(mutex_);
    auto it = registeredSockets_.find(socket);
    if (it == registeredSockets_.end()) return;
    resource = it->second;
    registeredSockets_.erase(it);
  }
  // DeRegisterPlugin: disconnectClient for this name and endpoint.
  closeClient(resource, socket);
}

}  // namespace udp::sim
