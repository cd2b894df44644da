#include "app/daemon.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "plugin/cdi_spec.h"
#include "util/atomic_file.h"
#include "util/log.h"
#include "util/unix_socket.h"

namespace udp::app {
namespace {

constexpr std::string_view kKubeletSocket = "kubelet.sock";
// How long a graceful stop waits for queued bytes (final trailers) to reach the kubelet.
constexpr auto kDrainLimit = std::chrono::seconds(2);

v1beta1::DevicePluginOptions optionsFor(const config::Resource& resource) {
  v1beta1::DevicePluginOptions options;
  options.set_pre_start_required(false);
  options.set_get_preferred_allocation_available(resource.preferredAllocation ==
                                                 config::PreferredAllocation::kNuma);
  return options;
}

}  // namespace

struct Daemon::ResourceRuntime {
  std::unique_ptr<plugin::ResourceService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<kubelet::Registration> registration;
  uint64_t cdiGeneration = 0;  // the inventory generation the CDI spec on disk shows

  void shutDown() {
    registration->stop();
    service->endStreams();
    server->closeConnections();
    // Remove our socket only if it is still ours (a restarted kubelet may have cleaned up).
    if (server->socketInode() != 0 && socketInodeAt(server->path()) == server->socketInode()) {
      ::unlink(server->path().c_str());
    }
    server->stopListening();
  }
  bool idle() const { return server->connectionCount() == 0 && registration->idle(); }
};

Daemon::Daemon(reactor::Reactor& reactor, config::Config config, SourceFactory makeSource,
               DaemonOptions options)
    : reactor_(reactor),
      config_(std::move(config)),
      options_(std::move(options)),
      accounting_(reactor, options_.accounting, *this),
      makeSource_(std::move(makeSource)),
      watch_(reactor, config_.kubeletDir, *this),
      signals_(reactor, [this](int signo) { onSignal(signo); }) {}

Daemon::~Daemon() = default;

std::unique_ptr<Daemon::ResourceRuntime> Daemon::makeRuntime(const config::Resource& resource) {
  auto runtime = std::make_unique<ResourceRuntime>();
  runtime->service = std::make_unique<plugin::ResourceService>(resource, &accounting_);
  runtime->server = std::make_unique<grpc::Server>(reactor_, *runtime->service);
  runtime->registration = std::make_unique<kubelet::Registration>(
      reactor_, config_.kubeletDir, resource.name, optionsFor(resource), *runtime->server);
  kubelet::Registration& registration = *runtime->registration;
  registration.setOutcomeHandler([this, &registration](const grpc::Status& status) {
    accounting_.registration(registration.resourceName(), registration.endpoint(), status);
  });
  return runtime;
}

Result<void> Daemon::start() {
  if (auto r = signals_.start(); !r) return r;
  if (auto r = accounting_.start(); !r) return r;
  if (auto r = watch_.start(); !r) return r;
  reactor_.addTurnEndHook([this] { onTurnEnd(); });
  for (const config::Resource& resource : config_.resources) {
    resources_.push_back(makeRuntime(resource));
  }
  source_ = makeSource_(config_);
  if (auto r = source_->start(reactor_, *this); !r) {
    return makeError(r.error().code, "device source: " + r.error().message);
  }
  if (std::string summary = source_->summary(); !summary.empty()) {
    logInfo("devices from " + summary);
  }
  if (notifier_ && notifier_->watchdogInterval())
    reactor_.timeout(watchdogOp_, *notifier_->watchdogInterval() / 2);
  // Serve before registering: the kubelet dials back inside Register.
  for (auto& runtime : resources_) {
    if (auto r = runtime->registration->start(); !r) return r;
  }
  return {};
}

Daemon::ResourceRuntime* Daemon::find(std::string_view resource) {
  for (auto& runtime : resources_) {
    if (runtime->service->resource().name == resource) return runtime.get();
  }
  return nullptr;
}

void Daemon::upsertDevice(std::string_view resource, plugin::Device device) {
  ResourceRuntime* runtime = find(resource);
  if (runtime == nullptr) return;
  plugin::Inventory& inventory = runtime->service->inventory();
  std::optional<plugin::Device> before;
  if (const plugin::Device* old = inventory.find(device.id)) before = *old;
  std::string id = device.id;
  if (inventory.upsert(std::move(device))) {
    accounting_.deviceChanged(resource, before ? &*before : nullptr, inventory.find(id));
  }
}

void Daemon::removeDevice(std::string_view resource, std::string_view id) {
  ResourceRuntime* runtime = find(resource);
  if (runtime == nullptr) return;
  plugin::Inventory& inventory = runtime->service->inventory();
  const plugin::Device* old = inventory.find(id);
  if (old == nullptr) return;
  plugin::Device before = *old;
  inventory.remove(id);
  accounting_.deviceChanged(resource, &before, nullptr);
}

bool Daemon::ready() const {
  if (stopping_ || resources_.empty()) return false;
  return std::all_of(resources_.begin(), resources_.end(), [](const auto& r) {
    return r->registration->state() == kubelet::RegistrationState::kRegistered &&
           r->service->streamCount() > 0;
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
    view.name = runtime->service->resource().name;
    view.registrationState = kubelet::stateName(runtime->registration->state());
    view.streaming = runtime->service->streamCount() > 0;
    for (const auto& [id, device] : runtime->service->inventory().devices()) {
      view.devices.push_back(device);
    }
    inputs.resources.push_back(std::move(view));
  }
  return inputs;
}

void Daemon::onEntryCreated(std::string_view name) {
  if (stopping_ || name != kKubeletSocket) return;
  logInfo("kubelet.sock appeared in " + config_.kubeletDir + "; registering");
  bool everRegistered = std::any_of(resources_.begin(), resources_.end(), [](const auto& r) {
    return r->registration->registrations() > 0;
  });
  if (everRegistered) accounting_.kubeletRestarted(config_.kubeletDir);
  for (auto& runtime : resources_) runtime->registration->kubeletAppeared();
}

void Daemon::onEntryRemoved(std::string_view name) {
  if (stopping_) return;
  if (name == kKubeletSocket) {
    for (auto& runtime : resources_) runtime->registration->kubeletGone();
    return;
  }
  for (auto& runtime : resources_) runtime->registration->entryRemoved(name);
}

void Daemon::onDirectoryReset() {
  if (stopping_) return;
  logWarning("kubelet directory " + config_.kubeletDir + " was replaced; serving again");
  for (auto& runtime : resources_) runtime->registration->recheck();
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
  if (stopping_ || !reload_) return;
  if (notifier_) notifier_->notify("RELOADING=1");
  std::optional<config::Config> next = reload_();
  if (notifier_) notifier_->notify("READY=1");
  if (!next) {
    logError("reload: the new config is invalid; keeping the running one");
    return;
  }
  if (next->kubeletDir != config_.kubeletDir) {
    logWarning("reload: kubeletDir changes take effect on restart only; keeping " +
               config_.kubeletDir);
    next->kubeletDir = config_.kubeletDir;
  }
  std::vector<std::unique_ptr<ResourceRuntime>> kept;
  size_t unchanged = 0;
  for (const config::Resource& resource : next->resources) {
    auto same = std::find_if(resources_.begin(), resources_.end(), [&](const auto& r) {
      return r && r->service->resource() == resource;
    });
    if (same != resources_.end()) {
      kept.push_back(std::move(*same));
      ++unchanged;
    } else {
      kept.push_back(nullptr);  // made below, after the old one released its socket
    }
  }
  for (auto& old : resources_) {
    if (!old) continue;
    logInfo("reload: resource removed or changed", {{"resource", old->service->resource().name}});
    accounting_.forgetResource(old->service->resource().name);
    old->shutDown();
    retiredResources_.push_back(std::move(old));
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    if (kept[i]) continue;
    kept[i] = makeRuntime(next->resources[i]);
    if (auto r = kept[i]->registration->start(); !r) {
      logError("reload: " + r.error().message, {{"resource", next->resources[i].name}});
    }
  }
  resources_ = std::move(kept);
  config_ = std::move(*next);
  // Rules may have changed: a fresh source reports every device again. Unchanged resources see
  // identical devices, so their streams stay quiet.
  source_->stop();
  retiredSources_.push_back(std::move(source_));
  source_ = makeSource_(config_);
  if (auto r = source_->start(reactor_, *this); !r) {
    logError("reload: device source: " + r.error().message);
  }
  logInfo("reload: " + std::to_string(resources_.size()) + " resources, " +
          std::to_string(unchanged) + " unchanged");
}

void Daemon::requestStop() {
  if (stopping_) return;
  stopping_ = true;
  if (notifier_) notifier_->notify("STOPPING=1");
  reactor_.cancel(watchdogOp_);
  signals_.stop();
  watch_.stop();
  if (source_) source_->stop();
  for (auto& runtime : resources_) runtime->shutDown();
  accounting_.stop();
  reactor_.timeout(drainOp_, kDrainLimit);
}

void Daemon::onWatchdogTimer(int res, uint32_t) noexcept {
  if (res == -ECANCELED || stopping_ || !notifier_) return;
  notifier_->notify("WATCHDOG=1");
  reactor_.timeout(watchdogOp_, *notifier_->watchdogInterval() / 2);
}

void Daemon::tellSystemd() {
  if (!notifier_ || stopping_) return;
  size_t registered = 0, devices = 0;
  for (const auto& runtime : resources_) {
    registered += runtime->registration->state() == kubelet::RegistrationState::kRegistered;
    devices += runtime->service->inventory().devices().size();
  }
  std::string status = std::to_string(registered) + "/" + std::to_string(resources_.size()) +
                       " resources registered, " + std::to_string(devices) + " devices";
  if (status != toldStatus_) {
    toldStatus_ = status;
    notifier_->notify("STATUS=" + status);
  }
  if (!toldReady_ && registered == resources_.size()) {
    toldReady_ = true;
    notifier_->notify("READY=1");
  }
}

void Daemon::onDrainTimer(int, uint32_t) noexcept {
  logWarning("stop: connections did not drain in time; exiting anyway");
  reactor_.stop();
}

void Daemon::writeCdiSpec(const plugin::ResourceService& service) {
  const config::Resource& resource = service.resource();
  std::string path = config_.cdiDir + "/" + plugin::cdiSpecFileName(resource.name);
  if (auto r = kubelet::makeDirectories(config_.cdiDir, 0755); !r) {
    logError("CDI spec: " + r.error().message, {{"resource", resource.name}});
    return;
  }
  if (auto r = writeFileAtomically(path, plugin::renderCdiSpec(resource, service.inventory()));
      !r) {
    logError("CDI spec: " + r.error().message, {{"resource", resource.name}});
  }
}

void Daemon::onTurnEnd() {
  for (auto& runtime : resources_) {
    // The spec must name a device before the kubelet can hand it to a container.
    uint64_t generation = runtime->service->inventory().generation();
    if (runtime->service->resource().cdi && runtime->cdiGeneration != generation) {
      writeCdiSpec(*runtime->service);
      runtime->cdiGeneration = generation;
    }
    runtime->service->publishIfChanged();
    runtime->registration->sweep();
    runtime->server->sweep();
    const plugin::Inventory& inventory = runtime->service->inventory();
    accounting_.resourceState(
        runtime->service->resource().name, inventory.healthyCount(),
        inventory.devices().size() - inventory.healthyCount(), runtime->service->streamCount(),
        runtime->registration->state() == kubelet::RegistrationState::kRegistered);
  }
  accounting_.sweep();
  tellSystemd();
  for (auto& runtime : retiredResources_) {
    runtime->registration->sweep();
    runtime->server->sweep();
  }
  std::erase_if(retiredResources_, [](const auto& r) { return r->idle(); });
  std::erase_if(retiredSources_, [](const auto& s) { return s->idle(); });
  if (stopping_) {
    bool drained = retiredResources_.empty() && accounting_.idle() &&
                   std::all_of(resources_.begin(), resources_.end(),
                               [](const auto& r) { return r->server->connectionCount() == 0; });
    if (drained) reactor_.stop();
  }
}

}  // namespace udp::app
