#pragma once

// The DevicePlugin service of one resource: its inventory, its open ListAndWatch streams and the
// five RPCs (DESIGN.md §3). It decides nothing about I/O.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/repeated_ptr_field.h>

#include "config/config.h"
#include "grpc/framing.h"
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

// A device list the kubelet would refuse, so it was not sent (see ResourceService).
struct OversizeList {
  std::string_view resource;
  size_t bytes = 0;    // the encoded ListAndWatchResponse
  size_t limit = 0;    // the most the kubelet accepts
  size_t devices = 0;  // in the inventory now
  bool first = false;  // the first since a list last fitted: worth a log line
};

class ServiceObserver {
 public:
  virtual ~ServiceObserver() = default;
  virtual void onAllocate(const AllocationOutcome& outcome) = 0;
  virtual void onPreStart(const AllocationOutcome& outcome) = 0;
  // Once per withheld list (each change while the list is too large).
  virtual void onListWithheld(const OversizeList& list) { (void)list; }
  // The list fits again and went out.
  virtual void onListFitsAgain(std::string_view resource, size_t bytes) {
    (void)resource;
    (void)bytes;
  }
};

class ResourceService final : public grpc::Service {
 public:
  // `maxListBytes`: the largest ListAndWatchResponse sent (the kubelet's receive limit).
  explicit ResourceService(config::Resource resource, ServiceObserver* observer = nullptr,
                           uint32_t maxListBytes = grpc::kDefaultMaxMessageSize);

  const config::Resource& resource() const { return resource_; }
  Inventory& inventory() { return inventory_; }
  const Inventory& inventory() const { return inventory_; }

  // Sends the device list to every open stream if it changed since the last send: changes made
  // within one reactor turn go out as one message.
  //
  // A list over `maxListBytes` is not sent. The kubelet (grpc-go, 4 MiB) would fail the stream
  // on it, mark every device of the resource unhealthy and never dial again; so the streams keep
  // the last list that fitted (a new stream gets that one too, or nothing if none ever fitted)
  // and the observer hears of it (a log line, a metric). The next change that fits goes out.
  void publishIfChanged();
  // While `gate` returns false the kubelet sees no change: new streams get the last list sent
  // (empty before the first), and publishIfChanged waits. A CDI resource closes it until its
  // spec on disk names every device of the inventory.
  void setPublishGate(std::function<bool()> gate) { gate_ = std::move(gate); }
  // True while the inventory's list is too large and the kubelet has an older one.
  bool listWithheld() const { return withheld_; }
  // Ends every ListAndWatch stream with OK (shutdown: the kubelet stops admitting pods).
  void endStreams();
  size_t streamCount() const { return streams_.size(); }
  // Each stream carries what `tagger` returned when it opened (the runtime tags it with the
  // Register call it belongs to); streamCount(tag) counts the open streams with that tag.
  void setStreamTagger(std::function<uint64_t()> tagger) { tagger_ = std::move(tagger); }
  size_t streamCount(uint64_t tag) const {
    return static_cast<size_t>(std::count(streamTags_.begin(), streamTags_.end(), tag));
  }

  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override;
  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override;
  grpc::Status openStream(const grpc::CallContext& call, std::string_view request,
                          grpc::ServerStream& stream) override;
  void streamClosed(grpc::ServerStream& stream) override;

 private:
  // The encoded ListAndWatchResponse, shared by every stream that sends it: the last one that
  // fitted, null if none has.
  std::shared_ptr<const std::string> deviceListMessage();
  AllocationOutcome outcomeOf(const google::protobuf::RepeatedPtrField<std::string>& ids) const;

  config::Resource resource_;
  ServiceObserver* observer_;  // borrowed; may be null
  std::function<bool()> gate_;
  uint32_t maxListBytes_;
  bool withheld_ = false;
  Inventory inventory_;
  std::vector<grpc::ServerStream*> streams_;  // borrowed until streamClosed
  std::vector<uint64_t> streamTags_;          // streams_[i]'s tag
  std::function<uint64_t()> tagger_;
  // Encoded once per change. While no stream holds it any more, the next change re-encodes into
  // the same buffer instead of freeing one list-sized block and allocating another per turn.
  std::shared_ptr<std::string> listMessage_;
  std::string scratch_;  // each list is encoded here first; swapped in when it fits
};

}  // namespace udp::plugin
