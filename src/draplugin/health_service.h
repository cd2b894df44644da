#pragma once

// The kubelet's DRAResourceHealth service (docs/dra-kubelet.md): NodeWatchResources streams the
// health of every device of the driver, at once when the stream opens and again whenever it
// changes. Served at /v1.DRAResourceHealth/ (1.37 and later, negotiated in GetInfo) and
// /v1alpha1.DRAResourceHealth/ (what earlier kubelets call), with the same messages.
//
// Each message lists every device: the kubelet reconciles its cache with it, so each one
// supersedes the last, and a slow kubelet costs one message of memory. Devices carry a health
// check timeout of a year: we send changes as they happen and nothing while idle (DESIGN.md: no
// wake-ups), so a quiet device must not read UNKNOWN after the kubelet's default 30 s; when
// this plugin goes, its stream ends and the kubelet forgets the driver's health at once.
// Kubelets before 1.37 ignore the timeout and always use 30 s: for their streams (v1alpha1) the
// list is sent again every 20 s while one is open, and only then.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpc/service.h"
#include "reactor/reactor.h"

namespace udp::draplugin {

inline constexpr std::string_view kWatchResourcesV1 = "/v1.DRAResourceHealth/NodeWatchResources";
inline constexpr std::string_view kWatchResourcesV1alpha1 =
    "/v1alpha1.DRAResourceHealth/NodeWatchResources";
inline constexpr int64_t kHealthCheckTimeoutSeconds = 365LL * 24 * 3600;
inline constexpr std::chrono::seconds kLegacyRefresh{20};
inline constexpr size_t kHealthMessageMaxBytes = 1024;  // the kubelet cuts longer ones
// Removed devices stay listed (UNHEALTHY) so that a pod holding one sees it; the oldest go
// beyond this many.
inline constexpr size_t kMaxRemovedDevices = 256;

struct DeviceHealth {
  std::string poolName;
  std::string deviceName;  // as published in the ResourceSlice
  bool healthy = true;
  std::string message;   // what happened: "removed", "attribute online is 0", ...
  bool removed = false;  // gone from the inventory: listed as UNHEALTHY until forgotten

  bool operator==(const DeviceHealth&) const = default;
};

class HealthService final : public grpc::Service {
 public:
  // `legacyRefresh`: how often v1alpha1 streams get the list again (tests shorten it).
  explicit HealthService(reactor::Reactor& reactor, reactor::OpScope* parent = nullptr,
                         std::chrono::milliseconds legacyRefresh = kLegacyRefresh);
  ~HealthService() override;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Adds or replaces these devices' health (stamped now); the streams hear of it at the next
  // publishIfChanged, so changes within one reactor turn go out as one message.
  void healthChanged(const std::vector<DeviceHealth>& devices);
  // Sends the list to every stream if it changed since the last send.
  void publishIfChanged();
  // Ends every stream with OK and stops the refresh timer (shutdown).
  void endStreams();
  bool idle() const { return scope_.idle(); }
  size_t streamCount() const { return streams_.size(); }
  size_t deviceCount() const { return devices_.size(); }

  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override;
  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override;
  grpc::Status openStream(const grpc::CallContext& call, std::string_view request,
                          grpc::ServerStream& stream) override;
  void streamClosed(grpc::ServerStream& stream) override;

 private:
  struct Entry {
    DeviceHealth health;
    int64_t lastUpdated = 0;  // unix seconds
  };
  struct Stream {
    grpc::ServerStream* stream;
    bool legacy;  // v1alpha1: refreshed every kLegacyRefresh
  };
  std::shared_ptr<const std::string> encoded();
  void armRefresh();
  void onRefresh(int res, uint32_t flags) noexcept;
  bool anyLegacy() const;

  reactor::Reactor& reactor_;
  reactor::OpScope scope_;
  std::chrono::milliseconds legacyRefresh_;
  std::map<std::string, Entry> devices_;  // by "<pool>/<device>"
  std::deque<std::string> removedOrder_;  // keys of removed devices, oldest first
  std::vector<Stream> streams_;
  std::shared_ptr<const std::string> encoded_;  // the list as sent; null when it changed
  bool changed_ = false;
  bool stopped_ = false;
  reactor::Op refreshOp_{reactor::bindOp<&HealthService::onRefresh>(this, scope_)};
};

}  // namespace udp::draplugin
