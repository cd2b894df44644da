#pragma once

// The running plugin: per resource a service, a socket server and a registration; the kubelet
// directory watch; the device source; signals. Everything runs on one reactor.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/accounting.h"
#include "app/signals.h"
#include "app/systemd_notifier.h"
#include "config/config.h"
#include "grpc/server.h"
#include "kubelet/directory_watch.h"
#include "kubelet/registration.h"
#include "plugin/device_source.h"
#include "plugin/resource_service.h"
#include "reactor/reactor.h"

namespace udp::app {

struct DaemonOptions {
  AccountingOptions accounting;
  std::string configPath;    // for describe
  std::string configSha256;  // of the file as loaded
};

class Daemon final : public plugin::DeviceSink,
                     private kubelet::DirectoryListener,
                     private DaemonView {
 public:
  using SourceFactory = std::function<std::unique_ptr<plugin::DeviceSource>(const config::Config&)>;
  Daemon(reactor::Reactor& reactor, config::Config config, SourceFactory makeSource,
         DaemonOptions options = {});
  ~Daemon() override;

  // Serves every resource and starts registering; fails only on what a restart cannot fix
  // (the kubelet directory cannot be made or watched, the device source cannot start).
  Result<void> start();
  // Graceful stop: end the streams, close connections after what they have queued, remove our
  // sockets, then stop the reactor.
  void requestStop();
  // SIGHUP: `reload` (if set) re-reads the config; it returns nullopt when the new one is bad.
  void setReloader(std::function<std::optional<config::Config>()> reload) {
    reload_ = std::move(reload);
  }

  void upsertDevice(std::string_view resource, plugin::Device device) override;
  void removeDevice(std::string_view resource, std::string_view id) override;
  void onUevent(std::string_view action) override { accounting_.uevent(action); }
  void onRescan() override { accounting_.rescan(); }
  void onSourceUp() override { accounting_.componentUp(kDeviceSourceComponent); }
  void onSourceDown(std::string_view cause) override {
    accounting_.componentDown(kDeviceSourceComponent, cause);
  }

  // SIGHUP: the reloader also returns the new file's sha256 through this.
  void setConfigSha256(std::string sha) { options_.configSha256 = std::move(sha); }

 private:
  struct ResourceRuntime;

  bool ready() const override;
  governance::DescribeInputs describeInputs() const override;
  uint64_t reactorTurns() const override { return reactor_.turns(); }

  void onEntryCreated(std::string_view name) override;
  void onEntryRemoved(std::string_view name) override;
  void onDirectoryReset() override;
  void onWatchUp() override { accounting_.componentUp(kKubeletDirWatchComponent); }
  void onWatchDown(std::string_view cause) override {
    accounting_.componentDown(kKubeletDirWatchComponent, cause);
  }
  void onSignal(int signo);
  void onTurnEnd();
  void onDrainTimer(int res, uint32_t flags) noexcept;
  void onWatchdogTimer(int res, uint32_t flags) noexcept;
  void tellSystemd();
  ResourceRuntime* find(std::string_view resource);
  std::unique_ptr<ResourceRuntime> makeRuntime(const config::Resource& resource);
  void reload();
  void writeCdiSpec(const plugin::ResourceService& service);

  reactor::Reactor& reactor_;
  config::Config config_;
  DaemonOptions options_;
  Accounting accounting_;
  SourceFactory makeSource_;
  std::unique_ptr<plugin::DeviceSource> source_;
  std::vector<std::unique_ptr<plugin::DeviceSource>> retiredSources_;
  std::vector<std::unique_ptr<ResourceRuntime>> resources_;
  std::vector<std::unique_ptr<ResourceRuntime>> retiredResources_;
  kubelet::DirectoryWatch watch_;
  Signals signals_;
  std::function<std::optional<config::Config>()> reload_;
  bool stopping_ = false;
  reactor::Op drainOp_{reactor::bindOp<&Daemon::onDrainTimer>(this)};
  // Type=notify: READY=1 once every resource registered, STATUS= as that changes, WATCHDOG=1
  // from a timer only when systemd asked for it.
  std::unique_ptr<SystemdNotifier> notifier_ = SystemdNotifier::fromEnvironment();
  bool toldReady_ = false;
  std::string toldStatus_;
  reactor::Op watchdogOp_{reactor::bindOp<&Daemon::onWatchdogTimer>(this)};
};

}  // namespace udp::app
