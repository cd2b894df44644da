#pragma once

// Registration of one resource through the kubelet's plugin watcher (docs/plugin-watcher.md):
// instead of calling Register, we serve pluginregistration.Registration on
// <pluginsRegistryDir>/<resource>-reg.sock. The kubelet dials every socket that appears there,
// asks GetInfo, dials the device-plugin endpoint we name (GetDevicePluginOptions, ListAndWatch)
// and tells us the outcome with NotifyRegistrationStatus.
//
// The kubelet registers a socket once per file: it retries by itself only when dialling us or
// GetInfo fails. When it could not use our endpoint (NotifyRegistrationStatus(false)) or dropped
// our ListAndWatch connection while running, only a new file makes it try again, so "register
// again" here means: re-create the registration socket, with the same capped backoff as
// Register's retries. A registration socket someone deleted (the kubelet then unregisters us) is
// re-created at once.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "grpc/server.h"
#include "kubelet/plugin_info_service.h"
#include "kubelet/registrar.h"
#include "kubelet/registration.h"
#include "kubelet/retry_timer.h"
#include "reactor/reactor.h"
#include "util/backoff.h"

namespace udp::kubelet {

struct PluginWatcherPaths {
  std::string registryDir;  // the kubelet's plugins_registry
  std::string socketDir;    // where the device-plugin socket lives
};

class PluginWatcherRegistration final : public Registrar, private PluginInfoListener {
 public:
  // `server` serves the resource's DevicePlugin service; this listens it on
  // <socketDir>/<endpointFor(resource)> and keeps it there.
  PluginWatcherRegistration(reactor::Reactor& reactor, PluginWatcherPaths paths,
                            std::string resourceName, grpc::Server& server,
                            RegistrationTiming timing = {}, reactor::OpScope* parent = nullptr);
  // Any plugin type (a DRA driver: draPluginInfo): GetInfo answers `info`, `server` is listened
  // on info.endpoint() (absolute), the registration socket is <registryDir>/<registrationName>.
  PluginWatcherRegistration(reactor::Reactor& reactor, const std::string& registryDir,
                            std::string registrationName, pluginregistration::PluginInfo info,
                            grpc::Server& server, RegistrationTiming timing = {},
                            reactor::OpScope* parent = nullptr);
  PluginWatcherRegistration(const PluginWatcherRegistration&) = delete;
  PluginWatcherRegistration& operator=(const PluginWatcherRegistration&) = delete;

  void setOutcomeHandler(std::function<void(const grpc::Status&)> handler) override {
    outcomeHandler_ = std::move(handler);
  }
  Result<void> start() override;
  void connectionLost() override;
  void stop() override;
  void sweep() override;

  // An entry of plugins_registry was removed; re-creates our registration socket if it was ours.
  void registryEntryRemoved(std::string_view name);
  // An entry of the endpoint's directory was removed; serves again if it was our endpoint.
  void socketDirEntryRemoved(std::string_view name);
  // A directory was replaced or events were lost: make sure both sockets are ours.
  void recheck();

  RegistrationState state() const override { return state_; }
  const std::string& resourceName() const override { return resourceName_; }
  const std::string& endpoint() const override { return endpointPath_; }
  uint64_t registrations() const override { return registrations_; }
  uint64_t registerCalls() const override { return registerCalls_; }
  const std::string& registrationSocket() const { return registrationPath_; }
  bool idle() const { return scope_.idle(); }

 private:
  void onGetInfo() override;
  void onRegistrationStatus(bool registered, std::string_view error) override;

  Result<void> ensureEndpoint();
  Result<void> ensureRegistrationSocket();
  // A fresh registration socket file, ours or not there before.
  Result<void> listenRegistrationSocket();
  // A fresh registration socket file: the kubelet sees it go and come, and registers again.
  void recreateRegistrationSocket();
  bool ours(const grpc::Server& server) const;
  void scheduleRetry();
  void onRetryTimer(int res, uint32_t flags) noexcept;

  reactor::Reactor& reactor_;
  reactor::OpScope scope_;        // counts the retry timer and the registration server's ops
  std::string resourceName_;      // or the DRA driver's name
  std::string endpointPath_;      // <socketDir>/<resource>.sock, absolute
  std::string registrationPath_;  // <registryDir>/<resource>-reg.sock
  std::string endpointName_, registrationName_;  // their file names, as inotify names them
  grpc::Server& server_;                         // the DevicePlugin server, borrowed
  PluginInfoService service_;
  grpc::Server registrationServer_;  // after service_: serves it
  RegistrationTiming timing_;

  RegistrationState state_ = RegistrationState::kWaitingForKubelet;
  Backoff reconnect_;  // the first retry after the kubelet dropped our connection
  std::chrono::steady_clock::time_point attemptStarted_;
  std::chrono::steady_clock::time_point registeredAt_;
  uint64_t registrations_ = 0;
  uint64_t registerCalls_ = 0;
  bool started_ = false;  // before start() directory events change nothing
  bool stopped_ = false;
  std::function<void(const grpc::Status&)> outcomeHandler_;
  reactor::Op retryOp_{reactor::bindOp<&PluginWatcherRegistration::onRetryTimer>(this, scope_)};
  RetryTimer retry_{reactor_, retryOp_, timing_.firstRetry, timing_.maxRetry};
};

// The registration socket's file name: "example.com/serial" → "example.com_serial-reg.sock".
// Unique per resource: the domain part of a resource name cannot contain '_'.
std::string registrationSocketFor(std::string_view resourceName);

}  // namespace udp::kubelet
