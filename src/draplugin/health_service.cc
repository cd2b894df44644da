#include "draplugin/health_service.h"

#include <errno.h>

#include <algorithm>

#include "dra_health.pb.h"
#include "util/utf8.h"

namespace udp::draplugin {

HealthService::HealthService(reactor::Reactor& reactor, reactor::OpScope* parent,
                             std::chrono::milliseconds legacyRefresh)
    : reactor_(reactor), scope_(parent), legacyRefresh_(legacyRefresh) {}

HealthService::~HealthService() = default;

std::optional<grpc::MethodKind> HealthService::methodKind(std::string_view path) const {
  if (path == kWatchResourcesV1 || path == kWatchResourcesV1alpha1) {
    return grpc::MethodKind::kServerStreaming;
  }
  return std::nullopt;
}

grpc::Status HealthService::handleUnary(const grpc::CallContext& call, std::string_view,
                                        std::string&) {
  return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
}

void HealthService::healthChanged(const std::vector<DeviceHealth>& devices) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  for (const DeviceHealth& health : devices) {
    std::string key = health.poolName + "/" + health.deviceName;
    auto [it, added] = devices_.try_emplace(key);
    if (!added && it->second.health == health) continue;
    bool wasRemoved = !added && it->second.health.removed;
    it->second = {health, now};
    changed_ = true;
    if (health.removed && !wasRemoved) {
      removedOrder_.push_back(key);
    } else if (!health.removed && wasRemoved) {
      std::erase(removedOrder_, key);  // back again
    }
  }
  while (removedOrder_.size() > kMaxRemovedDevices) {
    devices_.erase(removedOrder_.front());
    removedOrder_.pop_front();
  }
  if (changed_) encoded_.reset();
}

std::shared_ptr<const std::string> HealthService::encoded() {
  if (encoded_) return encoded_;
  ::v1::NodeWatchResourcesResponse response;
  for (const auto& [key, entry] : devices_) {
    ::v1::DeviceHealth* out = response.add_devices();
    out->mutable_device()->set_pool_name(entry.health.poolName);
    out->mutable_device()->set_device_name(entry.health.deviceName);
    bool healthy = entry.health.healthy && !entry.health.removed;
    out->set_health(healthy ? ::v1::HEALTHY : ::v1::UNHEALTHY);
    out->set_last_updated_time(entry.lastUpdated);
    out->set_health_check_timeout_seconds(kHealthCheckTimeoutSeconds);
    out->set_message(validUtf8Prefix(entry.health.message, kHealthMessageMaxBytes));
  }
  encoded_ = std::make_shared<const std::string>(response.SerializeAsString());
  return encoded_;
}

void HealthService::publishIfChanged() {
  if (!changed_) return;
  changed_ = false;
  auto message = encoded();
  for (const Stream& s : streams_) s.stream->writeShared(message, true);
}

grpc::Status HealthService::openStream(const grpc::CallContext& call, std::string_view request,
                                       grpc::ServerStream& stream) {
  ::v1::NodeWatchResourcesRequest parsed;
  if (!parsed.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
    return {grpc::StatusCode::kInvalidArgument, "cannot parse NodeWatchResourcesRequest"};
  }
  if (stopped_) return {grpc::StatusCode::kUnavailable, "the plugin is stopping"};
  // The streams already open get any pending change first: from here on all have the same list.
  publishIfChanged();
  bool legacy = call.path == kWatchResourcesV1alpha1;
  streams_.push_back({&stream, legacy});
  stream.writeShared(encoded(), true);
  if (legacy) armRefresh();
  return grpc::Status::Ok();
}

void HealthService::streamClosed(grpc::ServerStream& stream) {
  std::erase_if(streams_, [&](const Stream& s) { return s.stream == &stream; });
  if (!anyLegacy() && refreshOp_.pending()) reactor_.cancel(refreshOp_);
}

bool HealthService::anyLegacy() const {
  return std::any_of(streams_.begin(), streams_.end(), [](const Stream& s) { return s.legacy; });
}

void HealthService::armRefresh() {
  if (!refreshOp_.pending() && !stopped_) reactor_.timeout(refreshOp_, legacyRefresh_);
}

void HealthService::onRefresh(int res, uint32_t) noexcept {
  if (res == -ECANCELED || stopped_ || !anyLegacy()) return;
  auto message = encoded();
  for (const Stream& s : streams_) {
    if (s.legacy) s.stream->writeShared(message, true);
  }
  armRefresh();
}

void HealthService::endStreams() {
  stopped_ = true;
  if (refreshOp_.pending()) reactor_.cancel(refreshOp_);
  // finish() may close a stream at once, and streamClosed then edits streams_: walk a copy.
  std::vector<Stream> open = streams_;
  for (const Stream& s : open) s.stream->finish(grpc::Status::Ok());
}

}  // namespace udp::draplugin
