#pragma once

// The running plugin: one ResourceRuntime per resource, the kubelet directory watch, the device
// source, signals and what operators see (Accounting, SystemdStatus), all on one reactor. The
// daemon wires events between them; the pieces own their own lifecycles:
//   resource_runtime   a resource's service, socket, registration and CDI spec
//   reload_plan        what a SIGHUP keeps, retires and makes (pure)
//   systemd_status     READY/STATUS/WATCHDOG
// Owners that stop are retired and freed at the end of a turn once nothing of theirs is in
// flight; at exit the reactor drains every op before anything is destroyed.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/accounting.h"
#include "app/resource_runtime.h"
#include "app/signals.h"
#include "app/systemd_status.h"
#include "config/config.h"
#include "dra/driver.h"
#include "kubelet/directory_watch.h"
#include "plugin/device_source.h"
#include "reactor/reactor.h"
#include "util/backoff.h"

namespace udp::app {

struct DaemonOptions {
  AccountingOptions accounting;
  std::string configPath;    // for describe
  std::string configSha256;  // of the file as loaded
  kubelet::RegistrationTiming registration;
};

class Daemon final : public plugin::DeviceSink,
                     private kubelet::DirectoryListener,
                     private DaemonView,
                     private dra::DriverObserver {
 public:
  using SourceFactory = std::function<std::unique_ptr<plugin::DeviceSource>(const config::Config&)>;
  Daemon(reactor::Reactor& reactor, config::Config config, SourceFactory makeSource,
         DaemonOptions options = {});
  ~Daemon() override;

  // Serves every resource and starts registering; fails only on what a restart cannot fix
  // (the kubelet directory cannot be made or watched, the device source cannot start).
  Result<void> start();
  // Graceful stop: end the streams, close connections after what they have queued, remove our
  // sockets; the reactor stops once nothing is in flight any more (or after kDrainLimit).
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

  // registration: pluginWatcher: the directory that holds our device-plugin sockets.
  class SocketDirListener final : public kubelet::DirectoryListener {
   public:
    explicit SocketDirListener(Daemon& daemon) : daemon_(daemon) {}
    void onEntryCreated(std::string_view) override {}
    void onEntryRemoved(std::string_view name) override;
    void onDirectoryReset() override { daemon_.onDirectoryReset(); }
    void onWatchUp() override;
    void onWatchDown(std::string_view cause) override;

   private:
    Daemon& daemon_;
  };

  // dra::DriverObserver
  void slicesPublished(std::chrono::nanoseconds latency) override;
  void claimHandled(const draplugin::ClaimEvent& event) override;

  // The DRA driver of config_, when it has a dra block and a resource served through DRA.
  Result<void> startDriver();
  // Turn end: the driver's state into metrics, and its failures into /readyz and the log.
  void reportDriver();

  bool pluginWatcher() const {
    return config_.registration == config::RegistrationMode::kPluginWatcher;
  }
  void onSignal(int signo);
  void onTurnEnd();
  void onDrainTimer(int res, uint32_t flags) noexcept;
  void onSourceRetryTimer(int res, uint32_t flags) noexcept;
  ResourceRuntime* find(std::string_view resource);
  std::unique_ptr<ResourceRuntime> makeRuntime(const config::Resource& resource);
  void reload();
  // A retired runtime of this name is still in flight (handed over, or finishing).
  bool predecessorInFlight(std::string_view name) const;
  // Turn end: a runtime a reload made registers once no predecessor of its name holds a
  // connection of the kubelet's any more (gone, or past kHandOverLimit).
  void releaseHeld();
  // Starts a device source for config_; after a reload, every device of a kept resource that
  // the new source's first scan did not report leaves the inventory.
  Result<void> startSource(bool reconcile);
  // After a reload whose new source failed to start: down, retried with backoff until it starts.
  void restartSourceLater(const Error& error);
  void retireSource();

  reactor::Reactor& reactor_;
  config::Config config_;
  DaemonOptions options_;
  Accounting accounting_;
  SourceFactory makeSource_;
  std::unique_ptr<plugin::DeviceSource> source_;
  std::vector<std::unique_ptr<plugin::DeviceSource>> retiredSources_;
  std::vector<std::unique_ptr<ResourceRuntime>> resources_;
  std::vector<std::unique_ptr<ResourceRuntime>> retiredResources_;
  std::unique_ptr<dra::Driver> driver_;
  std::vector<std::unique_ptr<dra::Driver>> retiredDrivers_;  // stopped, until idle
  std::string driverProblem_;  // as last reported: a change is logged once
  // The kubelet's device-plugin directory, or with registration: pluginWatcher its
  // plugins_registry.
  kubelet::DirectoryWatch watch_;
  SocketDirListener socketDirListener_{*this};
  std::unique_ptr<kubelet::DirectoryWatch> socketDirWatch_;  // registration: pluginWatcher only
  Signals signals_;
  SystemdStatus systemd_;
  std::function<std::optional<config::Config>()> reload_;
  // While a new source makes its first scan: the IDs it reported, per resource.
  std::optional<std::map<std::string, std::set<std::string>, std::less<>>> scanned_;
  bool started_ = false;
  bool stopping_ = false;
  reactor::Op drainOp_{reactor::bindOp<&Daemon::onDrainTimer>(this)};
  Backoff sourceBackoff_;
  reactor::Op sourceRetryOp_{reactor::bindOp<&Daemon::onSourceRetryTimer>(this)};
};

}  // namespace udp::app
