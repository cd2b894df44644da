#include "draplugin/dra_plugin_server.h"

#include <unistd.h>

#include "util/unix_socket.h"

namespace udp::draplugin {

DraPluginSettings draPluginSettings(const config::DraConfig& dra, std::string cdiDir,
                                    std::string nodeName) {
  DraPluginSettings settings;
  settings.driverName = dra.driverName;
  settings.nodeName = std::move(nodeName);
  settings.pluginsRegistryDir = dra.pluginsRegistryDir;
  settings.pluginDir = dra.pluginDir;
  settings.cdiDir = std::move(cdiDir);
  return settings;
}

std::string draEndpointPath(const DraPluginSettings& settings) {
  return settings.pluginDir + "/" + settings.driverName + "/dra.sock";
}

std::string draRegistrationSocketPath(const DraPluginSettings& settings) {
  return settings.pluginsRegistryDir + "/" + kubelet::registrationSocketFor(settings.driverName);
}

DraPluginServer::DraPluginServer(reactor::Reactor& reactor, DraPluginSettings settings,
                                 ClaimSource& claims, const DeviceLookup& devices,
                                 ClaimObserver* observer, reactor::OpScope* parent)
    : settings_(std::move(settings)),
      endpointDir_(settings_.pluginDir + "/" + settings_.driverName),
      endpoint_(draEndpointPath(settings_)),
      devices_(devices),
      scope_(parent),
      store_(reactor, {settings_.driverName, settings_.cdiDir, endpointDir_ + "/checkpoint.json"},
             &scope_),
      health_(reactor, &scope_, settings_.legacyHealthRefresh),
      dra_({settings_.driverName, settings_.nodeName}, store_, claims, devices, observer),
      router_(settings_.healthService ? std::vector<grpc::Service*>{&dra_, &health_}
                                      : std::vector<grpc::Service*>{&dra_}),
      server_(reactor, router_, grpc::ServerLimits{}, &scope_),
      registration_(
          reactor, settings_.pluginsRegistryDir,
          kubelet::registrationSocketFor(settings_.driverName),
          kubelet::draPluginInfo(settings_.driverName, endpoint_, settings_.healthService), server_,
          settings_.timing, &scope_),
      registryListener_(registration_, true),
      endpointListener_(registration_, false),
      registryWatch_(reactor, settings_.pluginsRegistryDir, registryListener_),
      endpointWatch_(reactor, endpointDir_, endpointListener_) {}

DraPluginServer::~DraPluginServer() = default;

void DraPluginServer::Watcher::onEntryRemoved(std::string_view name) {
  if (registry_) {
    registration_.registryEntryRemoved(name);
  } else {
    registration_.socketDirEntryRemoved(name);
  }
}

Result<void> DraPluginServer::start() {
  // The watches make their directories; the checkpoint and the socket live in the endpoint's.
  if (auto r = endpointWatch_.start(); !r) return r;
  if (auto r = registryWatch_.start(); !r) return r;
  store_.load();
  started_ = true;
  // Serves dra.sock before the registration socket appears: the kubelet dials the endpoint as
  // soon as GetInfo names it.
  return registration_.start();
}

void DraPluginServer::sweep() {
  health_.publishIfChanged();
  server_.sweep();
  registration_.sweep();
}

void DraPluginServer::stop() {
  registration_.stop();
  health_.endStreams();
  dra_.stop();
  server_.closeConnections();
  if (started_ && server_.socketInode() != 0 && socketInodeAt(endpoint_) == server_.socketInode()) {
    ::unlink(endpoint_.c_str());
  }
  server_.stopListening();
  registryWatch_.stop();
  endpointWatch_.stop();
}

bool DraPluginServer::idle() const {
  return scope_.idle() && registryWatch_.idle() && endpointWatch_.idle() &&
         server_.connectionCount() == 0;
}

}  // namespace udp::draplugin
