#pragma once

// Everything the daemon owes its operators (DESIGN.md §1 "accounts"): Prometheus metrics and
// health endpoints, the audit log, and who holds a device (PodResources). The daemon reports
// events here; nothing here decides anything about devices or the kubelet.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "audit/audit_record.h"
#include "draplugin/claim_observer.h"
#include "governance/describe.h"
#include "grpc/status.h"
#include "kubelet/pod_resources.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"
#include "plugin/resource_service.h"
#include "reactor/reactor.h"

namespace udp::app {

struct AccountingOptions {
  std::string metricsAddress;  // "" = no HTTP endpoint
  audit::AuditOptions audit;
  std::string podResourcesSocket = kubelet::kPodResourcesSocket;
};

// The parts that fail on their own and retry (DESIGN.md §5.9), as the metrics and /readyz
// name them.
inline constexpr std::string_view kDeviceSourceComponent = "device_source";
inline constexpr std::string_view kKubeletDirWatchComponent = "kubelet_dir_watch";
// registration: pluginWatcher only: the watch on pluginSocketDir (kubelet_dir_watch then watches
// the kubelet's plugins_registry).
inline constexpr std::string_view kPluginSocketDirWatchComponent = "plugin_socket_dir_watch";
// The DRA driver: its API server connection and pool, and its registration with the kubelet.
inline constexpr std::string_view kDraDriverComponent = "dra_driver";

// What the accounting side asks of the daemon, for /readyz and /describe.
class DaemonView {
 public:
  virtual ~DaemonView() = default;
  virtual bool ready() const = 0;
  virtual governance::DescribeInputs describeInputs() const = 0;
  virtual uint64_t reactorTurns() const = 0;
};

class Accounting final : public plugin::ServiceObserver {
 public:
  Accounting(reactor::Reactor& reactor, AccountingOptions options, const DaemonView& daemon);
  Result<void> start();
  void stop();
  bool idle() const;
  void sweep();

  void registration(std::string_view resource, std::string_view endpoint,
                    const grpc::Status& status);
  void kubeletRestarted(std::string_view kubeletDir);
  // `before` or `after` null: the device appeared or left.
  void deviceChanged(std::string_view resource, const plugin::Device* before,
                     const plugin::Device* after);
  void uevent(std::string_view action) { metrics_.uevent(action); }
  void rescan() { metrics_.rescan(); }
  void resourceState(std::string_view resource, size_t healthy, size_t unhealthy, size_t streams,
                     bool registered);
  void forgetResource(std::string_view resource) { metrics_.forgetResource(resource); }
  void forgetDraDriver() { metrics_.forgetDraDriver(); }
  void connectionsClosed(std::string_view resource, uint64_t overLimit, uint64_t noRequest) {
    if (overLimit > 0) metrics_.connectionsClosed(resource, "over_limit", overLimit);
    if (noRequest > 0) metrics_.connectionsClosed(resource, "no_request", noRequest);
  }
  // A component works (started, or recovered): its gauge is 1 and /readyz no longer names it.
  void componentUp(std::string_view component);
  // A component failed and retries: its gauge is 0, its failures counter grows, and /readyz
  // answers 503 naming it and `cause` until componentUp. The component logs; this does not.
  void componentDown(std::string_view component, std::string_view cause);
  // "component: cause" for each failing one, "; "-separated; empty when none fails.
  std::string failingComponents() const;

  // The DRA driver: a round of slice writes acknowledged; a claim prepared or unprepared (an
  // audit line and its metrics); its state, at every turn's end.
  void draSlicesPublished(std::chrono::nanoseconds latency);
  void draClaim(const draplugin::ClaimEvent& event, std::string_view driver);
  void draState(size_t devices, size_t slices, int64_t generation, bool apiConnected,
                uint64_t apiErrors, uint64_t sliceWriteFailures) {
    metrics_.setDraState(devices, slices, generation, apiConnected, apiErrors, sliceWriteFailures);
  }

  void onAllocate(const plugin::AllocationOutcome& outcome) override;
  void onPreStart(const plugin::AllocationOutcome& outcome) override;
  void onListWithheld(const plugin::OversizeList& list) override;
  void onListFitsAgain(std::string_view resource, size_t bytes) override;

  const metrics::Metrics& metrics() const { return metrics_; }
  std::string metricsAddress() const;

 private:
  void audit(std::string line);
  metrics::HttpResponse describe() const;

  reactor::Reactor& reactor_;
  AccountingOptions options_;
  const DaemonView& daemon_;
  metrics::Metrics metrics_;
  audit::AuditLog auditLog_;
  kubelet::PodResourcesClient podResources_;
  std::unique_ptr<metrics::HttpServer> http_;
  // Health lines waiting for a PodResources answer.
  size_t holderQueries_ = 0;
  // Failing components → the cause each failed with.
  std::map<std::string, std::string, std::less<>> down_;
};

}  // namespace udp::app
