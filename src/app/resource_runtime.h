#pragma once

// One resource at run time: its service (inventory and RPCs), the gRPC server on its socket, its
// registration with the kubelet (Register on kubelet.sock, or through the plugin watcher) and, for
// `cdi: true`, the writer of its CDI spec. One OpScope counts the ops of them all, so the daemon
// frees a retired runtime only once nothing of it is in flight (DESIGN.md §5.8).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "app/cdi_spec_writer.h"
#include "config/config.h"
#include "grpc/server.h"
#include "kubelet/plugin_watcher_registration.h"
#include "kubelet/registration.h"
#include "plugin/resource_service.h"
#include "reactor/reactor.h"

namespace udp::app {

class ResourceRuntime {
 public:
  using OutcomeHandler = std::function<void(const kubelet::Registrar&, const grpc::Status&)>;

  struct Where {
    std::string kubeletDir;
    std::string cdiDir;
    config::RegistrationMode registration = config::RegistrationMode::kKubelet;
    kubelet::PluginWatcherPaths pluginWatcher;  // with RegistrationMode::kPluginWatcher
  };
  ResourceRuntime(reactor::Reactor& reactor, const config::Resource& resource, const Where& where,
                  plugin::ServiceObserver* observer, OutcomeHandler onOutcome,
                  kubelet::RegistrationTiming timing = {});
  ResourceRuntime(const ResourceRuntime&) = delete;
  ResourceRuntime& operator=(const ResourceRuntime&) = delete;

  const config::Resource& resource() const { return service_.resource(); }
  plugin::ResourceService& service() { return service_; }
  const plugin::ResourceService& service() const { return service_; }
  kubelet::Registrar& registration() { return *registrar_; }
  const kubelet::Registrar& registration() const { return *registrar_; }
  // The one of these that registers this resource; the other is null.
  kubelet::Registration* kubeletRegistration() { return kubeletRegistration_; }
  kubelet::PluginWatcherRegistration* pluginWatcherRegistration() { return pluginWatcher_; }
  grpc::Server& server() { return server_; }
  bool registered() const { return registrar_->state() == kubelet::RegistrationState::kRegistered; }

  // Ends the streams (OK), closes the connections after what they have queued, stops
  // registering and removes our socket if it is still ours.
  void shutDown();
  // Reload, with a successor of the same name: shutDown(), except that each connection is left
  // for the kubelet to close, and closed by us only `limit` later (handOverExpired()). A v1.34
  // kubelet closes it once it has deregistered the client whose ListAndWatch ended; a GOAWAY of
  // ours would let grpc-go close it first, and the close would then say nothing (Daemon::reload).
  // The hand-over ends, and the runtime may go idle, once no connection is left.
  void handOver(std::chrono::milliseconds limit);
  bool handOverExpired() const { return handOver_ == HandOver::kExpired; }
  // Reload: a successor registers only once its predecessor is done (Daemon::reload); until
  // releaseRegistration() it serves nothing. shutDown() ends the hold for good.
  void holdRegistration() { registrationHeld_ = true; }
  bool registrationHeld() const { return registrationHeld_; }
  Result<void> releaseRegistration();
  // End of a reactor turn: the CDI spec follows the inventory, the device list goes out if it
  // changed (for a CDI resource only once its spec names every device in it: the publish gate),
  // finished calls and connections are freed, and a lost ListAndWatch is noticed.
  void turnEnd();
  // Connections the server closed since the last call: over its limit, and without a request.
  std::pair<uint64_t, uint64_t> takeClosedConnections();
  // Nothing of this resource is in flight: it may be freed.
  bool idle() const { return scope_.idle(); }

 private:
  enum class HandOver { kNone, kWaiting, kEnded, kExpired };

  void stopServing();
  void endHandOver();
  void onHandOverTimer(int res, uint32_t flags) noexcept;

  reactor::Reactor& reactor_;
  reactor::OpScope scope_;  // every member below counts in it
  plugin::ResourceService service_;
  grpc::Server server_;
  std::unique_ptr<kubelet::Registrar> registrar_;
  kubelet::Registration* kubeletRegistration_ = nullptr;         // registrar_, in kubelet mode
  kubelet::PluginWatcherRegistration* pluginWatcher_ = nullptr;  // registrar_, otherwise
  std::unique_ptr<CdiSpecWriter> cdi_;                           // cdi resources only
  std::optional<uint64_t> cdiOnDisk_;  // the inventory generation the spec file shows
  // At the last turn's end: the Register call then current, and how many streams it had.
  uint64_t reportedRejected_ = 0, reportedTimedOut_ = 0;
  uint64_t streamsCall_ = 0;
  size_t streamsOfCall_ = 0;
  bool shutDown_ = false;
  bool registrationHeld_ = false;
  HandOver handOver_ = HandOver::kNone;
  reactor::Op handOverOp_{reactor::bindOp<&ResourceRuntime::onHandOverTimer>(this, scope_)};
};

}  // namespace udp::app
