#pragma once

// The DRA driver's side of the kubelet, whole (docs/dra-kubelet.md): the DRAPlugin and
// DRAResourceHealth services on <pluginDir>/<driver>/dra.sock, the registration socket
// <pluginsRegistryDir>/<driver>-reg.sock that the kubelet's plugin watcher dials (GetInfo:
// DRAPlugin), both watched and served again when removed, and the prepared claims with their
// checkpoint. The daemon owns one, feeds it the inventory's health, and calls sweep() at the end
// of every reactor turn.

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "draplugin/claim_store.h"
#include "draplugin/dra_service.h"
#include "draplugin/health_service.h"
#include "grpc/server.h"
#include "grpc/service_router.h"
#include "kubelet/directory_watch.h"
#include "kubelet/plugin_watcher_registration.h"

namespace udp::draplugin {

struct DraPluginSettings {
  std::string driverName;
  std::string nodeName;  // this node's pool is named after it
  std::string pluginsRegistryDir = "/var/lib/kubelet/plugins_registry";
  std::string pluginDir = "/var/lib/kubelet/plugins";
  std::string cdiDir = "/var/run/cdi";
  bool healthService = true;  // serve DRAResourceHealth and advertise it
  std::chrono::milliseconds legacyHealthRefresh = kLegacyRefresh;
  kubelet::RegistrationTiming timing = {};
};

// From the config's dra block and cdiDir; `nodeName` as the daemon resolved it (the block's,
// $NODE_NAME, or the host name).
DraPluginSettings draPluginSettings(const config::DraConfig& dra, std::string cdiDir,
                                    std::string nodeName);

// <pluginDir>/<driver>/dra.sock, where the kubelet calls NodePrepareResources.
std::string draEndpointPath(const DraPluginSettings& settings);
// <pluginsRegistryDir>/<driver>-reg.sock, where the kubelet's plugin watcher finds us.
std::string draRegistrationSocketPath(const DraPluginSettings& settings);

class DraPluginServer {
 public:
  // `claims`, `devices` and `observer` (may be null) are borrowed and must outlive the server.
  DraPluginServer(reactor::Reactor& reactor, DraPluginSettings settings, ClaimSource& claims,
                  const DeviceLookup& devices, ClaimObserver* observer = nullptr,
                  reactor::OpScope* parent = nullptr);
  ~DraPluginServer();
  DraPluginServer(const DraPluginServer&) = delete;
  DraPluginServer& operator=(const DraPluginServer&) = delete;

  // Reads the checkpoint, serves dra.sock, then the registration socket, and watches both
  // directories.
  Result<void> start();
  // Writes the CDI specs of prepared claims that a reboot removed; once the inventory is whole.
  void restoreSpecs() { store_.restoreSpecs(devices_); }
  // The inventory's health changes (see HealthService::healthChanged).
  void healthChanged(const std::vector<DeviceHealth>& devices) { health_.healthChanged(devices); }
  // End of a reactor turn: sends coalesced health changes, frees what finished.
  void sweep();
  // Removes the registration socket first (the kubelet unregisters the driver), then ends the
  // health streams, closes connections, removes dra.sock and stops watching.
  void stop();
  // Nothing in flight: the owner may free it.
  bool idle() const;

  kubelet::PluginWatcherRegistration& registration() { return registration_; }
  const ClaimStore& claims() const { return store_; }
  const DraService& service() const { return dra_; }
  const HealthService& health() const { return health_; }
  const std::string& endpoint() const { return endpoint_; }
  size_t connectionCount() const { return server_.connectionCount(); }

 private:
  // Directory events to the registration, as the daemon's DirectoryListener does for device
  // plugins registered through the plugin watcher.
  class Watcher final : public kubelet::DirectoryListener {
   public:
    Watcher(kubelet::PluginWatcherRegistration& registration, bool registry)
        : registration_(registration), registry_(registry) {}
    void onEntryCreated(std::string_view) override {}
    void onEntryRemoved(std::string_view name) override;
    void onDirectoryReset() override { registration_.recheck(); }

   private:
    kubelet::PluginWatcherRegistration& registration_;
    bool registry_;
  };

  DraPluginSettings settings_;
  std::string endpointDir_, endpoint_;
  const DeviceLookup& devices_;
  reactor::OpScope scope_;
  ClaimStore store_;
  HealthService health_;
  DraService dra_;
  grpc::ServiceRouter router_;
  grpc::Server server_;
  kubelet::PluginWatcherRegistration registration_;
  Watcher registryListener_, endpointListener_;
  kubelet::DirectoryWatch registryWatch_, endpointWatch_;
  bool started_ = false;
};

}  // namespace udp::draplugin
