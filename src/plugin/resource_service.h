#pragma once

// The DevicePlugin service of one resource: its inventory, its open ListAndWatch streams and the
// five RPCs (DESIGN.md §3). It decides nothing about I/O.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/repeated_ptr_field.h>

#include "config/config.h"
#include "grpc/service.h"
#include "plugin/inventory.h"

namespace udp::plugin {

// What the service did, for the audit log and the metrics; the daemon implements it.
struct AllocationOutcome {
  std::string_view resource;
  std::vector<std::string> deviceIds;  // every ID of every container request
  std::vector<const Device*> devices;  // those found in the inventory
  size_t containers = 0;
  grpc::Status status;
  std::chrono::nanoseconds duration{0};
};

class ServiceObserver {
 public:
  virtual ~ServiceObserver() = default;
  virtual void onAllocate(const AllocationOutcome& outcome) = 0;
  virtual void onPreStart(const AllocationOutcome& outcome) = 0;
};

class ResourceService final : public grpc::Service {
 public:
  explicit ResourceService(config::Resource resource, ServiceObserver* observer = nullptr);

  const config::Resource& resource() const { return resource_; }
  Inventory& inventory() { return inventory_; }
  const Inventory& inventory() const { return inventory_; }

  // Sends the device list to every open stream if it changed since the last send: changes made
  // within one reactor turn go out as one message.
  void publishIfChanged();
  // While `gate` returns false the kubelet sees no change: new streams get the last list sent
  // (empty before the first), and publishIfChanged waits. A CDI resource closes it until its
  // spec on disk names every device of the inventory.
  void setPublishGate(std::function<bool()> gate) { gate_ = std::move(gate); }
  // Ends every ListAndWatch stream with OK (shutdown: the kubelet stops admitting pods).
  void endStreams();
  size_t streamCount() const { return streams_.size(); }

  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override;
  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override;
  grpc::Status openStream(const grpc::CallContext& call, std::string_view request,
                          grpc::ServerStream& stream) override;
  void streamClosed(grpc::ServerStream& stream) override;

 private:
  // The encoded ListAndWatchResponse, shared by every stream that sends it.
  std::shared_ptr<const std::string> deviceListMessage();
  AllocationOutcome outcomeOf(const google::protobuf::RepeatedPtrField<std::string>& ids) const;

  config::Resource resource_;
  ServiceObserver* observer_;  // borrowed; may be null
  std::function<bool()> gate_;
  Inventory inventory_;
  std::vector<grpc::ServerStream*> streams_;  // borrowed until streamClosed
  // Encoded once per change. While no stream holds it any more, the next change re-encodes into
  // the same buffer instead of freeing one list-sized block and allocating another per turn.
  std::shared_ptr<std::string> listMessage_;
};

}  // namespace udp::plugin
