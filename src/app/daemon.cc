#include "app/daemon.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "app/malloc_policy.h"
#include "app/reload_plan.h"
#include "config/dra_names.h"
#include "governance/describe_dra.h"
#include "util/log.h"
#include "util/unix_socket.h"

namespace udp::app {
namespace {

constexpr std::string_view kKubeletSocket = "kubelet.sock";
// How long a graceful stop waits for queued bytes (final trailers) to reach the kubelet.
constexpr auto kDrainLimit = std::chrono::seconds(2);
// How long a reload's new runtime waits for the kubelet to close its predecessor's connections
// before it registers anyway.
constexpr auto kHandOverLimit = std::chrono::seconds(2);

// What the daemon watches for the kubelet: where kubelet.sock and our sockets live, or with
// the plugin watcher the kubelet's plugins_registry, where our registration sockets live.
const std::string& watchedDir(const config::Config& config) {
  return config.registration == config::RegistrationMode::kPluginWatcher ? config.pluginsRegistryDir
                                                                         : config.kubeletDir;
}

// The resources that get a device-plugin runtime (serve: devicePlugin or both).
std::vector<config::Resource> devicePluginResources(const config::Config& config) {
  std::vector<config::Resource> out;
  for (const config::Resource& resource : config.resources) {
    if (config::servedByDevicePlugin(resource)) out.push_back(resource);
  }
  return out;
}

// The resources the DRA driver serves (serve: dra or both); none without a dra block.
std::vector<config::Resource> draResources(const config::Config& config) {
  std::vector<config::Resource> out;
  if (!config.dra) return out;
  for (const config::Resource& resource : config.resources) {
    if (config::servedThroughDra(resource)) out.push_back(resource);
  }
  return out;
}

}  // namespace

Daemon::Daemon(reactor::Reactor& reactor, config::Config config, SourceFactory makeSource,
               DaemonOptions options)
    : reactor_(reactor),
      config_(std::move(config)),
      options_(std::move(options)),
      accounting_(reactor, options_.accounting, *this),
      makeSource_(std::move(makeSource)),
      watch_(reactor, watchedDir(config_), *this),
      signals_(reactor, [this](int signo) { onSignal(signo); }),
      systemd_(reactor) {
  if (pluginWatcher()) {
    socketDirWatch_ = std::make_unique<kubelet::DirectoryWatch>(reactor, config_.pluginSocketDir,
                                                                socketDirListener_);
  }
}

Daemon::~Daemon() = default;

std::unique_ptr<ResourceRuntime> Daemon::makeRuntime(const config::Resource& resource) {
  ResourceRuntime::Where where{config_.kubeletDir,
                               config_.cdiDir,
                               config_.registration,
                               {config_.pluginsRegistryDir, config_.pluginSocketDir}};
  return std::make_unique<ResourceRuntime>(
      reactor_, resource, where, &accounting_,
      [this](const kubelet::Registrar& registration, const grpc::Status& status) {
        accounting_.registration(registration.resourceName(), registration.endpoint(), status);
      },
      options_.registration);
}

Result<void> Daemon::start() {
  if (auto r = signals_.start(); !r) return r;
  if (auto r = accounting_.start(); !r) return r;
  if (auto r = watch_.start(); !r) return r;
  if (socketDirWatch_) {
    if (auto r = socketDirWatch_->start(); !r) return r;
  }
  reactor_.addTurnEndHook([this] { onTurnEnd(); });
  for (const config::Resource& resource : devicePluginResources(config_)) {
    resources_.push_back(makeRuntime(resource));
  }
  if (auto r = startDriver(); !r) return r;
  if (auto r = startSource(false); !r) return r;
  // After the first scan: the driver publishes the pool it found, not an empty one first.
  if (driver_) {
    if (auto r = driver_->start(); !r)
      return makeError(r.error().code, "DRA driver: " + r.error().message);
  }
  systemd_.start();
  // Serve before registering: the kubelet dials back inside Register.
  for (auto& runtime : resources_) {
    if (auto r = runtime->registration().start(); !r) return r;
  }
  started_ = true;
  return {};
}

Result<void> Daemon::startDriver() {
  std::vector<config::Resource> served = draResources(config_);
  if (served.empty()) return {};
  auto node = config::resolveNodeName(config_.dra->nodeName);
  if (!node) return makeError(node.error().code, "DRA driver: node name: " + node.error().message);
  auto api = dra::apiClientConfig(*config_.dra);
  if (!api) return makeError(api.error().code, "DRA driver: " + api.error().message);
  dra::DriverSettings settings{.dra = *config_.dra,
                               .nodeName = *node,
                               .cdiDir = config_.cdiDir,
                               .api = std::move(*api),
                               .registration = options_.registration};
  auto driver = dra::Driver::create(reactor_, std::move(settings), served, this);
  if (!driver) return makeError(driver.error().code, "DRA driver: " + driver.error().message);
  driver_ = std::move(*driver);
  logInfo("DRA driver " + config_.dra->driverName + " for node " + *node + ": " +
          std::to_string(served.size()) + " resources, API server " +
          driver_->api().config().server);
  return {};
}

void Daemon::slicesPublished(std::chrono::nanoseconds latency) {
  accounting_.draSlicesPublished(latency);
  // A round built and sent its slices' bodies: give the pages they freed back now, not at the
  // next burst.
  releaseFreeHeap();
}

void Daemon::claimHandled(const draplugin::ClaimEvent& event) {
  accounting_.draClaim(event, config_.dra ? config_.dra->driverName : std::string());
}

void Daemon::reportDriver() {
  if (!driver_) return;
  const dra::PublisherStats& stats = driver_->publisherStats();
  accounting_.draState(driver_->deviceCount(), stats.slices, stats.generation,
                       driver_->apiConnected(), driver_->api().errors(), stats.failures);
  std::string problem = started_ ? driver_->problem() : std::string();
  if (problem == driverProblem_) return;
  if (problem.empty()) {
    logInfo("DRA driver: API server connected, pool published, registered with the kubelet");
    accounting_.componentUp(kDraDriverComponent);
  } else {
    logWarning("DRA driver: " + problem + "; retrying");
    accounting_.componentDown(kDraDriverComponent, problem);
  }
  driverProblem_ = std::move(problem);
}

Result<void> Daemon::startSource(bool reconcile) {
  source_ = makeSource_(config_);
  if (reconcile) scanned_.emplace();
  Result<void> started = source_->start(reactor_, *this);
  if (reconcile) {
    // A device removed while no source listened, or renamed by a new collision rule, would
    // otherwise stay advertised: the first scan is the truth.
    auto seen = std::move(*scanned_);
    scanned_.reset();
    if (started) {
      for (auto& runtime : resources_) {
        const std::string& name = runtime->resource().name;
        std::vector<std::string> stale;
        for (const auto& [id, device] : runtime->service().inventory().devices()) {
          auto it = seen.find(name);
          if (it == seen.end() || !it->second.contains(id)) stale.push_back(id);
        }
        for (const std::string& id : stale) removeDevice(name, id);
      }
      if (driver_) {
        for (const auto& [resource, id] : driver_->deviceKeys()) {
          auto it = seen.find(resource);
          if (it == seen.end() || !it->second.contains(id)) removeDevice(resource, id);
        }
      }
    }
  }
  if (!started) {
    return makeError(started.error().code, "device source: " + started.error().message);
  }
  if (std::string summary = source_->summary(); !summary.empty()) {
    logInfo("devices from " + summary);
  }
  return {};
}

ResourceRuntime* Daemon::find(std::string_view resource) {
  for (auto& runtime : resources_) {
    if (runtime->resource().name == resource) return runtime.get();
  }
  return nullptr;
}

void Daemon::upsertDevice(std::string_view resource, plugin::Device device) {
  ResourceRuntime* runtime = find(resource);
  if (driver_ && driver_->serves(resource)) {
    if (scanned_) (*scanned_)[std::string(resource)].insert(device.id);
    // A resource served through DRA only has no runtime: its health changes are audited here.
    std::optional<plugin::Device> before;
    if (const plugin::Device* old = driver_->device(resource, device.id)) before = *old;
    driver_->upsertDevice(resource, device);
    if (runtime == nullptr && before != device) {
      accounting_.deviceChanged(resource, before ? &*before : nullptr, &device);
    }
  }
  if (runtime == nullptr) return;
  if (scanned_) (*scanned_)[std::string(resource)].insert(device.id);
  plugin::Inventory& inventory = runtime->service().inventory();
  std::optional<plugin::Device> before;
  if (const plugin::Device* old = inventory.find(device.id)) before = *old;
  std::string id = device.id;
  if (inventory.upsert(std::move(device))) {
    accounting_.deviceChanged(resource, before ? &*before : nullptr, inventory.find(id));
  }
}

void Daemon::removeDevice(std::string_view resource, std::string_view id) {
  ResourceRuntime* runtime = find(resource);
  if (driver_) {
    std::optional<plugin::Device> before;
    if (const plugin::Device* old = driver_->device(resource, id)) before = *old;
    driver_->removeDevice(resource, id);
    if (runtime == nullptr && before) accounting_.deviceChanged(resource, &*before, nullptr);
  }
  if (runtime == nullptr) return;
  plugin::Inventory& inventory = runtime->service().inventory();
  const plugin::Device* old = inventory.find(id);
  if (old == nullptr) return;
  plugin::Device before = *old;
  inventory.remove(id);
  accounting_.deviceChanged(resource, &before, nullptr);
}

bool Daemon::ready() const {
  if (stopping_ || (resources_.empty() && !driver_)) return false;
  if (driver_ && !driver_->problem().empty()) return false;
  return std::all_of(resources_.begin(), resources_.end(), [](const auto& r) {
    // A list withheld for its size leaves the kubelet with an older one: not ready.
    return r->registered() && r->service().streamCount() > 0 && !r->service().listWithheld();
  });
}

governance::DescribeInputs Daemon::describeInputs() const {
  governance::DescribeInputs inputs;
  inputs.configPath = options_.configPath;
  inputs.configSha256 = options_.configSha256;
  inputs.config = &config_;
  inputs.live = true;
  inputs.eventSource = source_ ? source_->eventSource() : "none";
  inputs.kubeletSocketPresent =
      socketInodeAt(config_.kubeletDir + "/" + std::string(kKubeletSocket)) != 0;
  for (const auto& runtime : resources_) {
    governance::ResourceView view;
    view.name = runtime->resource().name;
    view.registrationState = kubelet::stateName(runtime->registration().state());
    view.streaming = runtime->service().streamCount() > 0;
    for (const auto& [id, device] : runtime->service().inventory().devices()) {
      view.devices.push_back(device);
    }
    inputs.resources.push_back(std::move(view));
  }
  if (governance::servesDra(config_)) {
    // startDriver() made the driver for such a config; a reload replaces it.
    inputs.dra =
        governance::draViewOf(config_, driver_ ? driver_->settings().nodeName : std::string());
    if (driver_) inputs.dra->live = driver_->view();
  }
  return inputs;
}

void Daemon::onEntryCreated(std::string_view name) {
  // The plugin watcher dials our registration sockets; kubelet.sock means nothing to it.
  if (stopping_ || pluginWatcher() || name != kKubeletSocket) return;
  logInfo("kubelet.sock appeared in " + config_.kubeletDir + "; registering");
  bool everRegistered = std::any_of(resources_.begin(), resources_.end(), [](const auto& r) {
    return r->registration().registrations() > 0;
  });
  if (everRegistered) accounting_.kubeletRestarted(config_.kubeletDir);
  for (auto& runtime : resources_) runtime->kubeletRegistration()->kubeletAppeared();
}

void Daemon::onEntryRemoved(std::string_view name) {
  if (stopping_) return;
  if (pluginWatcher()) {
    for (auto& runtime : resources_)
      runtime->pluginWatcherRegistration()->registryEntryRemoved(name);
    return;
  }
  if (name == kKubeletSocket) {
    for (auto& runtime : resources_) runtime->kubeletRegistration()->kubeletGone();
    return;
  }
  for (auto& runtime : resources_) runtime->kubeletRegistration()->entryRemoved(name);
}

void Daemon::SocketDirListener::onEntryRemoved(std::string_view name) {
  if (daemon_.stopping_) return;
  for (auto& runtime : daemon_.resources_) {
    runtime->pluginWatcherRegistration()->socketDirEntryRemoved(name);
  }
}

void Daemon::SocketDirListener::onWatchUp() {
  daemon_.accounting_.componentUp(kPluginSocketDirWatchComponent);
}

void Daemon::SocketDirListener::onWatchDown(std::string_view cause) {
  daemon_.accounting_.componentDown(kPluginSocketDirWatchComponent, cause);
}

void Daemon::onDirectoryReset() {
  if (stopping_) return;
  logWarning("kubelet directory " + watchedDir(config_) + " was replaced; serving again");
  for (auto& runtime : resources_) {
    if (auto* registration = runtime->kubeletRegistration()) {
      registration->recheck();
    } else {
      runtime->pluginWatcherRegistration()->recheck();
    }
  }
}

void Daemon::onSignal(int signo) {
  if (signo == SIGHUP) {
    reload();
    return;
  }
  logInfo(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + "; stopping");
  requestStop();
}

void Daemon::reload() {
  if (stopping_ || !started_ || !reload_) return;
  systemd_.reloading();
  std::optional<config::Config> next = reload_();
  systemd_.reloaded();
  if (!next) {
    logError("reload: the new config is invalid; keeping the running one");
    return;
  }
  if (next->kubeletDir != config_.kubeletDir) {
    logWarning("reload: kubeletDir changes take effect on restart only; keeping " +
               config_.kubeletDir);
    next->kubeletDir = config_.kubeletDir;
  }
  // The directory watches and every runtime were made for these.
  if (next->registration != config_.registration ||
      next->pluginsRegistryDir != config_.pluginsRegistryDir ||
      next->pluginSocketDir != config_.pluginSocketDir) {
    logWarning(
        "reload: registration, pluginsRegistryDir and pluginSocketDir changes take effect on "
        "restart only; keeping the running ones");
    next->registration = config_.registration;
    next->pluginsRegistryDir = config_.pluginsRegistryDir;
    next->pluginSocketDir = config_.pluginSocketDir;
  }
  std::vector<config::Resource> running;
  for (const auto& runtime : resources_) running.push_back(runtime->resource());
  std::vector<config::Resource> nextRuntimes = devicePluginResources(*next);
  ReloadPlan plan = planReload(running, nextRuntimes);
  // The driver is made for its block and resources: a change of either makes a new one, which
  // takes the pool over from its predecessor (it lists the slices and updates them).
  bool newDriver = next->dra != config_.dra || draResources(*next) != draResources(config_) ||
                   (driver_ && next->cdiDir != config_.cdiDir);
  // Retired first: a changed resource's new runtime listens on the same socket path.
  //
  // A changed resource's new runtime registers the same name, and a v1.34 kubelet keeps one
  // client per name (devicemanager/plugin/v1beta1/handler.go): when the old ListAndWatch ends it
  // disconnects whichever client is registered under the name by then. Had the new Register come
  // first, that is the new client, and the kubelet never marks the devices unhealthy when the
  // new stream ends. So the new runtime waits until the kubelet has closed the old one's
  // connections, which it does once it has deregistered the old client (releaseHeld()).
  for (size_t i : plan.retire) {
    ResourceRuntime& old = *resources_[i];
    const std::string& name = old.resource().name;
    logInfo("reload: resource removed or changed", {{"resource", name}});
    accounting_.forgetResource(name);
    if (std::any_of(nextRuntimes.begin(), nextRuntimes.end(),
                    [&](const config::Resource& r) { return r.name == name; })) {
      old.handOver(kHandOverLimit);
    } else {
      old.shutDown();
    }
    retiredResources_.push_back(std::move(resources_[i]));
  }
  if (newDriver && driver_) {
    logInfo("reload: the DRA block or its resources changed; the DRA driver starts again");
    driver_->stop();
    retiredDrivers_.push_back(std::move(driver_));
  }
  config_ = std::move(*next);
  if (newDriver) {
    // The retired driver's trouble is not its successor's, which reports its own from its first
    // turn on; with no successor (nothing left to serve through DRA) /readyz must forget it.
    if (!driverProblem_.empty()) accounting_.componentUp(kDraDriverComponent);
    driverProblem_.clear();
    if (auto r = startDriver(); !r) {
      logError("reload: " + r.error().message + "; no DRA driver until the config is fixed");
      accounting_.componentDown(kDraDriverComponent, r.error().message);
      driverProblem_ = r.error().message;
    }
    if (!driver_) accounting_.forgetDraDriver();
  }
  std::vector<std::unique_ptr<ResourceRuntime>> runtimes;
  std::vector<size_t> made;
  for (size_t i = 0; i < plan.keep.size(); ++i) {
    if (plan.keep[i]) {
      runtimes.push_back(std::move(resources_[*plan.keep[i]]));
    } else {
      runtimes.push_back(makeRuntime(nextRuntimes[i]));
      made.push_back(i);
    }
  }
  resources_ = std::move(runtimes);
  // Rules may have changed, and devices may have come and gone meanwhile: a fresh source scans
  // again; unchanged resources see identical devices, so their streams stay quiet.
  retireSource();
  reactor_.cancel(sourceRetryOp_);
  sourceBackoff_.reset();
  if (auto r = startSource(true); !r) restartSourceLater(r.error());
  if (newDriver && driver_) {
    if (auto r = driver_->start(); !r) {
      logError("reload: DRA driver: " + r.error().message);
      accounting_.componentDown(kDraDriverComponent, r.error().message);
    }
  }
  for (size_t i : made) {
    if (predecessorInFlight(nextRuntimes[i].name)) {
      resources_[i]->holdRegistration();
    } else if (auto r = resources_[i]->registration().start(); !r) {
      logError("reload: " + r.error().message, {{"resource", nextRuntimes[i].name}});
    }
  }
  logInfo("reload: " + std::to_string(resources_.size()) + " resources, " +
          std::to_string(plan.unchanged()) + " unchanged");
}

bool Daemon::predecessorInFlight(std::string_view name) const {
  return std::any_of(retiredResources_.begin(), retiredResources_.end(),
                     [&](const auto& r) { return r->resource().name == name; });
}

void Daemon::releaseHeld() {
  for (auto& runtime : resources_) {
    if (!runtime->registrationHeld()) continue;
    const std::string& name = runtime->resource().name;
    bool expired = false;
    bool waiting = false;
    for (const auto& retired : retiredResources_) {
      if (retired->resource().name != name) continue;
      expired = expired || retired->handOverExpired();
      waiting = waiting || !retired->handOverExpired();
    }
    if (waiting) continue;
    if (expired) {
      logWarning("reload: the kubelet did not close the replaced runtime's connections within " +
                     std::to_string(kHandOverLimit.count()) + " s; registering anyway",
                 {{"resource", name}});
    }
    if (auto r = runtime->releaseRegistration(); !r) {
      logError("reload: " + r.error().message, {{"resource", name}});
    }
  }
}

void Daemon::retireSource() {
  if (!source_) return;
  source_->stop();
  retiredSources_.push_back(std::move(source_));
}

void Daemon::restartSourceLater(const Error& error) {
  auto delay = sourceBackoff_.next();
  logError("reload: " + error.message + "; retrying in " + std::to_string(delay.count()) + " ms");
  accounting_.componentDown(kDeviceSourceComponent, error.message);
  retireSource();
  // A timer still in flight (cancelled by a reload) retries from its completion instead.
  if (!sourceRetryOp_.pending()) reactor_.timeout(sourceRetryOp_, delay);
}

void Daemon::onSourceRetryTimer(int, uint32_t) noexcept {
  // Cancelled or due alike: whoever has no source tries again.
  if (stopping_ || source_) return;
  if (auto r = startSource(true); !r) {
    restartSourceLater(r.error());
    return;
  }
  sourceBackoff_.reset();
  logInfo("the device source started again");
}

void Daemon::requestStop() {
  if (stopping_) return;
  stopping_ = true;
  systemd_.stopping();
  signals_.stop();
  watch_.stop();
  if (socketDirWatch_) socketDirWatch_->stop();
  reactor_.cancel(sourceRetryOp_);
  if (source_) source_->stop();
  for (auto& runtime : resources_) runtime->shutDown();
  // Those a reload handed over still hold the kubelet's connections.
  for (auto& runtime : retiredResources_) runtime->shutDown();
  if (driver_) driver_->stop();
  accounting_.stop();
  reactor_.timeout(drainOp_, kDrainLimit);
}

void Daemon::onDrainTimer(int res, uint32_t) noexcept {
  if (res == -ECANCELED) return;
  logWarning("stop: connections did not drain in time; exiting anyway");
  reactor_.stop();
}

void Daemon::onTurnEnd() {
  size_t registered = 0, devices = 0;
  for (auto& runtime : resources_) {
    runtime->turnEnd();
    const plugin::Inventory& inventory = runtime->service().inventory();
    accounting_.resourceState(runtime->resource().name, inventory.healthyCount(),
                              inventory.devices().size() - inventory.healthyCount(),
                              runtime->service().streamCount(), runtime->registered());
    auto [overLimit, noRequest] = runtime->takeClosedConnections();
    accounting_.connectionsClosed(runtime->resource().name, overLimit, noRequest);
    registered += runtime->registered();
    devices += inventory.devices().size();
  }
  if (driver_) {
    driver_->turnEnd();
    reportDriver();
  }
  for (auto& driver : retiredDrivers_) driver->turnEnd();
  std::erase_if(retiredDrivers_, [](const auto& d) { return d->idle(); });
  accounting_.sweep();
  systemd_.update(registered, resources_.size(), devices);
  for (auto& runtime : retiredResources_) runtime->turnEnd();
  std::erase_if(retiredResources_, [](const auto& r) { return r->idle(); });
  releaseHeld();
  std::erase_if(retiredSources_, [](const auto& s) { return s->idle(); });
  // Stopped once nothing but the drain timer is in flight: every final trailer was sent and
  // every owner is done.
  if (stopping_ && reactor_.inFlight() == (drainOp_.pending() ? 1u : 0u)) {
    reactor_.cancel(drainOp_);
    reactor_.stop();
  }
}

}  // namespace udp::app
