#pragma once

// The DRA driver (DESIGN.md §3b, docs/dra.md), whole: the devices of the resources served through
// DRA, published as this node's pool of ResourceSlices (SlicePublisher over the Kubernetes API
// client) and served to the kubelet (draplugin::DraPluginServer: registration,
// NodePrepareResources, health). It fills the kubelet side's seams: claims come from the API
// server, devices from its own inventory. The daemon feeds it the device source's changes for
// those resources and calls turnEnd() at the end of every reactor turn, where the changes of one
// turn become one pool generation and one health message.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "dra/api_access.h"
#include "dra/driver_view.h"
#include "dra/resource_slice_builder.h"
#include "dra/slice_publisher.h"
#include "draplugin/claim_observer.h"
#include "draplugin/claim_source.h"
#include "draplugin/device_lookup.h"
#include "draplugin/dra_plugin_server.h"
#include "kubeapi/api_client.h"
#include "plugin/device.h"
#include "reactor/reactor.h"
#include "util/result.h"

namespace udp::dra {

// What operators hear of the driver: the daemon counts it in metrics and writes audit lines.
class DriverObserver {
 public:
  virtual ~DriverObserver() = default;
  // A round of slice writes completed; `latency` from the first change it carried.
  virtual void slicesPublished(std::chrono::nanoseconds latency) = 0;
  virtual void claimHandled(const draplugin::ClaimEvent& event) = 0;
};

struct DriverSettings {
  config::DraConfig dra;
  std::string nodeName;  // resolved: the config's, $NODE_NAME, or the host name
  std::string cdiDir;
  kubeapi::ClientConfig api;
  kubeapi::ApiClientOptions apiOptions = {};
  kubelet::RegistrationTiming registration = {};
};

// Where the API client comes from: the config's kubeconfig, or in-cluster.
Result<kubeapi::ClientConfig> apiClientConfig(const config::DraConfig& dra);

class Driver final : private draplugin::ClaimSource,
                     private draplugin::DeviceLookup,
                     private draplugin::ClaimObserver {
 public:
  // `resources`: the whole config's; the driver serves those with serve: dra or both.
  static Result<std::unique_ptr<Driver>> create(reactor::Reactor& reactor, DriverSettings settings,
                                                const std::vector<config::Resource>& resources,
                                                DriverObserver* observer,
                                                reactor::OpScope* parent = nullptr);
  ~Driver() override;
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Serves the kubelet (checkpoint, dra.sock, registration) and starts publishing; fails only
  // on what a restart cannot fix (a socket directory that cannot be made).
  Result<void> start();
  // The device source's news, for resources this driver serves (others are ignored).
  void upsertDevice(std::string_view resource, const plugin::Device& device);
  void removeDevice(std::string_view resource, std::string_view id);
  // The device of `resource` with `id` in the pool, or null.
  const plugin::Device* device(std::string_view resource, std::string_view id) const;
  // (resource, device ID) of every device in the pool: a rescan removes those it did not see.
  std::vector<std::pair<std::string, std::string>> deviceKeys() const;
  // End of a reactor turn: one pool generation and one health message for the turn's changes.
  void turnEnd();
  // Unregisters from the kubelet, ends the streams, stops publishing. Prepared claims stay
  // checkpointed; the slices stay at the API server for the next run to take over.
  void stop();
  bool idle() const;

  bool serves(std::string_view resource) const;
  // For metrics: the API server answers now. /readyz (problem()) forgives an outage shorter
  // than kApiOutageGrace once the pool was published (api_outage.h).
  bool apiConnected() const { return api_->connected(); }
  bool slicesUpToDate() const { return publisher_->upToDate(); }
  bool registered() const;
  // The first thing wrong, in one line; empty when all is well.
  std::string problem() const;
  const PublisherStats& publisherStats() const { return publisher_->stats(); }
  const kubeapi::ApiClient& api() const { return *api_; }
  const draplugin::DraPluginServer& kubelet() const { return *kubelet_; }
  const DriverSettings& settings() const { return settings_; }
  size_t deviceCount() const { return devices_.size(); }
  bool taintsUnhealthy() const { return unhealthy_ == UnhealthyDevices::kTaint; }
  DriverView view() const;

 private:
  struct Entry {
    const config::Resource* resource;
    plugin::Device device;
    std::string taintTimeAdded;  // when it became unhealthy (RFC 3339)
  };

  // SliceApi over the client: its requests, cancellable together when the publisher stops.
  class PublisherApi final : public SliceApi {
   public:
    PublisherApi(Driver& driver, kubeapi::ApiClient& api) : driver_(driver), api_(api) {}
    void request(std::string_view method, std::string path, std::string body, Done done) override;
    void watch(std::string path, std::function<void(std::string_view)> onLine, Done onEnd) override;
    void cancelAll() override;

   private:
    // A request's or a watch's end: the driver notes the answer, the publisher gets it.
    void answered(uint64_t id, std::string_view method, std::string_view path,
                  kubeapi::Response response, const Done& done);

    Driver& driver_;
    kubeapi::ApiClient& api_;
    std::map<uint64_t, kubeapi::CallHandle> open_;
    uint64_t next_ = 1;
  };

  Driver(reactor::Reactor& reactor, DriverSettings settings,
         std::vector<config::Resource> resources, DriverObserver* observer,
         std::unique_ptr<kubeapi::ApiClient> api, reactor::OpScope* parent);

  // draplugin::ClaimSource
  uint64_t fetch(std::string_view namespaceName, std::string_view name, Done done) override;
  void cancel(uint64_t ticket) override;
  // draplugin::DeviceLookup
  std::optional<draplugin::DraDevice> find(std::string_view pool,
                                           std::string_view deviceName) const override;
  // draplugin::ClaimObserver
  void onClaimEvent(const draplugin::ClaimEvent& event) override;

  std::vector<SliceBody> buildSlices(int64_t generation, const ResourceVersions& versions);
  const config::Resource* resourceNamed(std::string_view name) const;
  void healthChanged(const std::string& name, const Entry* entry, bool removed);
  void askServerVersion();
  // Every answer of the API server: remembers a 403 with the access it refused, and forgets it
  // once that access succeeds.
  void noteAnswer(std::string_view method, std::string_view path,
                  const kubeapi::Response& response);
  bool everPublished() const { return publisher_->stats().rounds > 0; }
  // Wakes the loop when an API outage starts to count (api_outage.h), for the daemon to report.
  void onOutageTimer(int res, uint32_t flags) noexcept;

  reactor::Reactor& reactor_;
  DriverSettings settings_;
  std::vector<config::Resource> resources_;  // served through DRA only
  DriverObserver* observer_;
  reactor::OpScope scope_;
  std::unique_ptr<kubeapi::ApiClient> api_;
  PublisherApi publisherApi_;
  std::unique_ptr<SlicePublisher> publisher_;
  std::unique_ptr<draplugin::DraPluginServer> kubelet_;
  // The pool: device name (deviceNameFor) → device.
  std::map<std::string, Entry, std::less<>> devices_;
  bool poolChanged_ = false;
  std::vector<draplugin::DeviceHealth> healthChanges_;
  std::map<uint64_t, kubeapi::CallHandle> fetches_;
  uint64_t nextFetch_ = 1;
  // DRADeviceTaints is on by default from 1.36: before, the API server drops taints, so
  // unhealthy devices are left out of the pool instead (askServerVersion).
  UnhealthyDevices unhealthy_ = UnhealthyDevices::kTaint;
  // resource.kubernetes.io/numaNode is defined from 1.37 (KEP-6072).
  bool standardNumaNode_ = true;
  kubeapi::CallHandle versionCall_;
  std::optional<ApiDenial> lastDenied_;
  bool started_ = false;
  bool stopped_ = false;
  reactor::Op outageOp_{reactor::bindOp<&Driver::onOutageTimer>(this, scope_)};
};

}  // namespace udp::dra
