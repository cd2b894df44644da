#include "dra/driver.h"

#include <algorithm>

#include "dra/api_outage.h"
#include "dra/api_status.h"
#include "dra/claim_parser.h"
#include "dra/device_name.h"
#include "dra/server_version.h"
#include "dra/slice_list_parser.h"
#include "dra/watch_event.h"
#include "util/log.h"
#include "util/utc_time.h"

namespace udp::dra {
namespace {

std::string describeFailure(const kubeapi::Response& response) {
  return describeAnswer(response.status, response.body, response.error);
}

}  // namespace

Result<kubeapi::ClientConfig> apiClientConfig(const config::DraConfig& dra) {
  if (!dra.kubeconfig.empty()) return kubeapi::loadKubeconfig(dra.kubeconfig);
  return kubeapi::inClusterConfigFromEnvironment();
}

void Driver::PublisherApi::request(std::string_view method, std::string path, std::string body,
                                   Done done) {
  uint64_t id = next_++;
  std::string verb(method);
  kubeapi::CallHandle handle =
      api_.request(verb, path, std::move(body),
                   [this, id, verb, path, done = std::move(done)](kubeapi::Response response) {
                     answered(id, verb, path, std::move(response), done);
                   });
  open_.emplace(id, handle);
}

void Driver::PublisherApi::watch(std::string path, std::function<void(std::string_view)> onLine,
                                 Done onEnd) {
  uint64_t id = next_++;
  kubeapi::CallHandle handle =
      api_.watch(path, std::move(onLine),
                 [this, id, path, onEnd = std::move(onEnd)](kubeapi::Response response) {
                   answered(id, "GET", path, std::move(response), onEnd);
                 });
  open_.emplace(id, handle);
}

void Driver::PublisherApi::answered(uint64_t id, std::string_view method, std::string_view path,
                                    kubeapi::Response response, const Done& done) {
  open_.erase(id);
  driver_.noteAnswer(method, path, response);
  done(SliceApi::Response{response.status, std::move(response.body), std::move(response.error)});
}

void Driver::PublisherApi::cancelAll() {
  auto open = std::move(open_);
  open_.clear();
  for (const auto& [id, handle] : open) api_.cancel(handle);
}

Result<std::unique_ptr<Driver>> Driver::create(reactor::Reactor& reactor, DriverSettings settings,
                                               const std::vector<config::Resource>& resources,
                                               DriverObserver* observer, reactor::OpScope* parent) {
  auto api = kubeapi::ApiClient::create(reactor, settings.api, settings.apiOptions);
  if (!api) return makeError(api.error().code, "API client: " + api.error().message);
  std::vector<config::Resource> served;
  for (const config::Resource& resource : resources) {
    if (config::servedThroughDra(resource)) served.push_back(resource);
  }
  return std::unique_ptr<Driver>(new Driver(reactor, std::move(settings), std::move(served),
                                            observer, std::move(*api), parent));
}

Driver::Driver(reactor::Reactor& reactor, DriverSettings settings,
               std::vector<config::Resource> resources, DriverObserver* observer,
               std::unique_ptr<kubeapi::ApiClient> api, reactor::OpScope* parent)
    : reactor_(reactor),
      settings_(std::move(settings)),
      resources_(std::move(resources)),
      observer_(observer),
      scope_(parent),
      api_(std::move(api)),
      publisherApi_(*this, *api_) {
  SliceLayout layout;
  layout.collectionPath = sliceCollectionPath();
  layout.fieldSelector = sliceFieldSelector(settings_.nodeName, settings_.dra.driverName);
  layout.build = [this](int64_t generation, const auto& versions) {
    return buildSlices(generation, versions);
  };
  layout.parseList =
      [](std::string_view body) -> Result<std::pair<std::vector<PublishedSlice>, std::string>> {
    auto list = parseResourceSliceList(body);
    if (!list) return list.error();
    std::vector<PublishedSlice> slices;
    for (const ResourceSliceInfo& item : list->items) {
      slices.push_back({item.name, item.resourceVersion, item.poolGeneration, item.deviceCount});
    }
    return std::make_pair(std::move(slices), std::move(list->continueToken));
  };
  layout.parseListVersion = [](std::string_view body) -> Result<std::string> {
    auto list = parseResourceSliceList(body);
    if (!list) return list.error();
    return std::move(list->resourceVersion);
  };
  layout.parseEvent = [](std::string_view line) -> Result<SliceLayout::Event> {
    auto event = parseWatchEvent(line);
    if (!event) return event.error();
    SliceLayout::Event out;
    if (event->type == WatchEventType::kError) {
      auto status = parseStatus(event->object);
      out.gone = status && status->code == 410;
      return out;
    }
    out.deleted = event->type == WatchEventType::kDeleted;
    out.name = std::move(event->name);
    out.resourceVersion = std::move(event->resourceVersion);
    return out;
  };
  layout.parseSlice = [](std::string_view body) -> Result<PublishedSlice> {
    auto slice = parseResourceSlice(body);
    if (!slice) return slice.error();
    return PublishedSlice{slice->name, slice->resourceVersion, slice->poolGeneration,
                          slice->deviceCount};
  };
  publisher_ = std::make_unique<SlicePublisher>(reactor_, publisherApi_, std::move(layout), &scope_,
                                                [this](std::chrono::nanoseconds latency) {
                                                  if (observer_ != nullptr)
                                                    observer_->slicesPublished(latency);
                                                });
  draplugin::DraPluginSettings kubelet =
      draplugin::draPluginSettings(settings_.dra, settings_.cdiDir, settings_.nodeName);
  kubelet.timing = settings_.registration;
  draplugin::ClaimSource& claims = *this;
  const draplugin::DeviceLookup& devices = *this;
  draplugin::ClaimObserver* claimObserver = this;
  kubelet_ = std::make_unique<draplugin::DraPluginServer>(reactor_, std::move(kubelet), claims,
                                                          devices, claimObserver, &scope_);
}

Driver::~Driver() {
  stop();
  // The publisher's callbacks point into the client: it goes first.
  publisher_.reset();
}

Result<void> Driver::start() {
  if (started_) return {};
  if (auto r = kubelet_->start(); !r) return r;
  // The daemon starts the driver once the source's first scan is in: the CDI specs of claims
  // prepared before a reboot can be written again from the devices as they are now.
  kubelet_->restoreSpecs();
  started_ = true;
  api_->start();
  askServerVersion();
  return {};
}

void Driver::askServerVersion() {
  versionCall_ =
      api_->request("GET", std::string(kVersionPath), {}, [this](kubeapi::Response response) {
        versionCall_ = {};
        noteAnswer("GET", kVersionPath, response);
        Result<int> minor = response.status == 200
                                ? parseMinorVersion(response.body)
                                : Result<int>(makeError(-EIO, describeFailure(response)));
        if (!minor) {
          logWarning("DRA driver: cannot tell the API server's version (" + minor.error().message +
                     "); unhealthy devices are published with taints");
        } else {
          standardNumaNode_ = *minor >= 37;
          if (*minor < 36) {
            unhealthy_ = UnhealthyDevices::kOmit;
            logInfo("DRA driver: Kubernetes 1." + std::to_string(*minor) +
                    " drops device taints (DRADeviceTaints is off before 1.36): unhealthy devices "
                    "leave the pool instead");
          }
        }
        // The devices of the first scan are all in: publish.
        publisher_->start();
      });
}

void Driver::noteAnswer(std::string_view method, std::string_view path,
                        const kubeapi::Response& response) {
  bool success = response.status >= 200 && response.status < 300;
  if (!success && response.status != 403) return;
  ApiAccess access = accessOf(method, path);
  if (success) {
    if (lastDenied_ && lastDenied_->access == access) lastDenied_.reset();
    return;
  }
  auto status = parseStatus(response.body);
  std::string message =
      status && !status->message.empty() ? status->message : describeFailure(response);
  bool news = !lastDenied_ || lastDenied_->access != access;
  lastDenied_ = ApiDenial{access, std::string(path.substr(0, path.find('?'))), message,
                          formatUtcMillis(std::chrono::system_clock::now())};
  if (!news) return;
  // Once per access refused in a row, not once per retry.
  std::string what =
      access.resource.empty() ? access.nonResourceUrl : access.resource + "." + access.apiGroup;
  logWarning("DRA driver: the API server refuses " + access.verb + " " + what + ": " + message +
             (permitted(access)
                  ? " (packaging/kubernetes/dra/rbac.yaml grants it: is its ClusterRole bound to "
                    "this identity?)"
                  : " (a request outside the driver's RBAC rules: a bug)"));
}

DriverView Driver::view() const {
  DriverView view;
  view.apiServer = api_->config().server;
  view.apiConnected = api_->connected();
  view.apiError = api_->lastError();
  view.published = publisher_->upToDate();
  view.publishError = publisher_->lastError();
  view.generation = publisher_->stats().generation;
  view.slices = publisher_->sliceDevices();
  view.preparedClaims = kubelet_->claims().claims().size();
  view.registered = registered();
  view.lastDenied = lastDenied_;
  return view;
}

void Driver::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (versionCall_) api_->cancel(versionCall_);
  for (const auto& [ticket, handle] : fetches_) api_->cancel(handle);
  fetches_.clear();
  publisher_->stop();
  kubelet_->stop();
  api_->stop();
  if (outageOp_.pending()) reactor_.cancel(outageOp_);
}

bool Driver::idle() const {
  return scope_.idle() && api_->idle() && kubelet_->idle();
}

bool Driver::serves(std::string_view resource) const {
  return resourceNamed(resource) != nullptr;
}

bool Driver::registered() const {
  return kubelet_->registration().state() == kubelet::RegistrationState::kRegistered;
}

std::string Driver::problem() const {
  if (apiOutageCounts(api_->disconnectedSince(), everPublished(),
                      std::chrono::steady_clock::now())) {
    return "API server " + api_->config().server + " not connected" +
           (api_->lastError().empty() ? "" : ": " + api_->lastError());
  }
  if (!publisher_->upToDate()) {
    return "ResourceSlices not published" +
           (publisher_->lastError().empty() ? "" : ": " + publisher_->lastError());
  }
  if (!registered()) return "not registered with the kubelet (plugin watcher)";
  return {};
}

const config::Resource* Driver::resourceNamed(std::string_view name) const {
  for (const config::Resource& resource : resources_) {
    if (resource.name == name) return &resource;
  }
  return nullptr;
}

void Driver::upsertDevice(std::string_view resourceName, const plugin::Device& device) {
  const config::Resource* resource = resourceNamed(resourceName);
  if (resource == nullptr) return;
  std::string name = deviceNameFor(resource->name, device.id);
  auto it = devices_.find(name);
  if (it != devices_.end() && it->second.device == device) return;
  bool wasHealthy = it == devices_.end() || it->second.device.healthy;
  bool healthChange = it == devices_.end() || it->second.device.healthy != device.healthy ||
                      it->second.device.healthReason != device.healthReason;
  Entry& entry = devices_.insert_or_assign(name, Entry{resource, device, {}}).first->second;
  if (!device.healthy) {
    entry.taintTimeAdded =
        wasHealthy ? formatUtcMillis(std::chrono::system_clock::now()) : it->second.taintTimeAdded;
  }
  poolChanged_ = true;
  if (healthChange) healthChanged(name, &entry, false);
}

void Driver::removeDevice(std::string_view resourceName, std::string_view id) {
  const config::Resource* resource = resourceNamed(resourceName);
  if (resource == nullptr) return;
  auto it = devices_.find(deviceNameFor(resource->name, id));
  if (it == devices_.end()) return;
  std::string name = it->first;
  devices_.erase(it);
  poolChanged_ = true;
  healthChanged(name, nullptr, true);
}

void Driver::healthChanged(const std::string& name, const Entry* entry, bool removed) {
  draplugin::DeviceHealth health;
  health.poolName = settings_.nodeName;
  health.deviceName = name;
  health.removed = removed;
  health.healthy = entry != nullptr && entry->device.healthy;
  if (removed) {
    health.message = "removed";
  } else if (!health.healthy) {
    health.message = entry->device.healthReason.empty() ? "unhealthy" : entry->device.healthReason;
  }
  healthChanges_.push_back(std::move(health));
}

const plugin::Device* Driver::device(std::string_view resource, std::string_view id) const {
  auto it = devices_.find(deviceNameFor(resource, id));
  if (it == devices_.end() || it->second.resource->name != resource) return nullptr;
  return &it->second.device;
}

std::vector<std::pair<std::string, std::string>> Driver::deviceKeys() const {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& [name, entry] : devices_)
    keys.emplace_back(entry.resource->name, entry.device.id);
  return keys;
}

void Driver::turnEnd() {
  if (stopped_) {
    // Connections closing after stop() are freed here.
    kubelet_->sweep();
    api_->sweep();
    return;
  }
  if (poolChanged_) {
    poolChanged_ = false;
    if (started_ && !versionCall_) publisher_->changed();
  }
  if (!healthChanges_.empty()) {
    kubelet_->healthChanged(healthChanges_);
    healthChanges_.clear();
  }
  auto outageCounts = apiOutageCountsFrom(api_->disconnectedSince(), everPublished());
  auto now = std::chrono::steady_clock::now();
  // An earlier timer (an outage that ended) fires first and this is armed again then.
  if (outageCounts && *outageCounts > now && !outageOp_.pending())
    reactor_.timeout(outageOp_, *outageCounts - now);
  kubelet_->sweep();
  api_->sweep();
}

void Driver::onOutageTimer(int, uint32_t) noexcept {
  // Nothing to do: the turn this ends makes the daemon ask problem() again.
}

std::vector<SliceBody> Driver::buildSlices(int64_t generation, const ResourceVersions& versions) {
  PoolSpec pool;
  pool.driver = settings_.dra.driverName;
  pool.nodeName = settings_.nodeName;
  pool.generation = generation;
  pool.unhealthy = unhealthy_;
  pool.standardNumaNode = standardNumaNode_;
  for (const auto& [name, entry] : devices_) {
    pool.devices.push_back({entry.resource->name, entry.device, entry.taintTimeAdded});
  }
  auto built = buildResourceSlices(pool, versions);
  std::vector<SliceBody> slices;
  if (!built) {
    // Only a bug gets here (names are validated by check-config, device names are unique by
    // construction): say so and keep what is published.
    logError("DRA driver: cannot build the ResourceSlices of pool " + pool.nodeName + ": " +
             built.error().message);
    for (const auto& [name, version] : versions) slices.push_back({name, {}});
    return slices;
  }
  for (ResourceSliceBody& body : *built) {
    slices.push_back({body.name, std::move(body.json), body.devices});
  }
  return slices;
}

uint64_t Driver::fetch(std::string_view namespaceName, std::string_view name, Done done) {
  uint64_t ticket = nextFetch_++;
  std::string path = claimPath(namespaceName, name);
  std::string what = "ResourceClaim " + std::string(namespaceName) + "/" + std::string(name);
  kubeapi::CallHandle handle =
      api_->request("GET", path, {},
                    [this, ticket, what, path, done = std::move(done)](kubeapi::Response response) {
                      fetches_.erase(ticket);
                      noteAnswer("GET", path, response);
                      if (response.status == 200) {
                        auto claim = parseResourceClaim(response.body);
                        if (!claim)
                          return done(makeError(-EPROTO, what + ": " + claim.error().message));
                        return done(std::move(*claim));
                      }
                      if (response.status == 404)
                        return done(makeError(-ENOENT, what + " not found"));
                      done(makeError(-EIO, "reading " + what + ": " + describeFailure(response)));
                    });
  fetches_.emplace(ticket, handle);
  return ticket;
}

void Driver::cancel(uint64_t ticket) {
  auto it = fetches_.find(ticket);
  if (it == fetches_.end()) return;
  api_->cancel(it->second);
  fetches_.erase(it);
}

std::optional<draplugin::DraDevice> Driver::find(std::string_view pool,
                                                 std::string_view deviceName) const {
  if (pool != settings_.nodeName) return std::nullopt;
  auto it = devices_.find(deviceName);
  if (it == devices_.end()) return std::nullopt;
  return draplugin::DraDevice{*it->second.resource, it->second.device};
}

void Driver::onClaimEvent(const draplugin::ClaimEvent& event) {
  if (observer_ != nullptr) observer_->claimHandled(event);
}

}  // namespace udp::dra
