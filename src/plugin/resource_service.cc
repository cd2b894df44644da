#include "plugin/resource_service.h"

#include <algorithm>

#include "api.pb.h"
#include "plugin/allocation.h"
#include "plugin/device_list.h"

namespace udp::plugin {
namespace {

constexpr std::string_view kPrefix = "/v1beta1.DevicePlugin/";
enum class Method { kOptions, kListAndWatch, kPreferred, kAllocate, kPreStart, kUnknown };

Method methodOf(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) return Method::kUnknown;
  std::string_view name = path.substr(kPrefix.size());
  if (name == "GetDevicePluginOptions") return Method::kOptions;
  if (name == "ListAndWatch") return Method::kListAndWatch;
  if (name == "GetPreferredAllocation") return Method::kPreferred;
  if (name == "Allocate") return Method::kAllocate;
  if (name == "PreStartContainer") return Method::kPreStart;
  return Method::kUnknown;
}

template <typename Message>
bool parse(std::string_view bytes, Message& message) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

grpc::Status unparsable(std::string_view what) {
  return {grpc::StatusCode::kInvalidArgument, "cannot parse " + std::string(what)};
}

}  // namespace

ResourceService::ResourceService(config::Resource resource, ServiceObserver* observer,
                                 uint32_t maxListBytes)
    : resource_(std::move(resource)), observer_(observer), maxListBytes_(maxListBytes) {}

AllocationOutcome ResourceService::outcomeOf(
    const google::protobuf::RepeatedPtrField<std::string>& ids) const {
  AllocationOutcome outcome;
  outcome.resource = resource_.name;
  for (const std::string& id : ids) {
    outcome.deviceIds.push_back(id);
    if (const Device* device = inventory_.find(id)) outcome.devices.push_back(device);
  }
  return outcome;
}

std::optional<grpc::MethodKind> ResourceService::methodKind(std::string_view path) const {
  switch (methodOf(path)) {
    case Method::kUnknown:
      return std::nullopt;
    case Method::kListAndWatch:
      return grpc::MethodKind::kServerStreaming;
    default:
      return grpc::MethodKind::kUnary;
  }
}

grpc::Status ResourceService::handleUnary(const grpc::CallContext& call, std::string_view request,
                                          std::string& response) {
  switch (methodOf(call.path)) {
    case Method::kOptions: {
      v1beta1::Empty empty;
      if (!parse(request, empty)) return unparsable("Empty");
      v1beta1::DevicePluginOptions options;
      options.set_pre_start_required(false);
      options.set_get_preferred_allocation_available(resource_.preferredAllocation ==
                                                     config::PreferredAllocation::kNuma);
      options.SerializeToString(&response);
      return grpc::Status::Ok();
    }
    case Method::kAllocate: {
      auto started = std::chrono::steady_clock::now();
      v1beta1::AllocateRequest in;
      if (!parse(request, in)) return unparsable("AllocateRequest");
      v1beta1::AllocateResponse out;
      grpc::Status status = allocate(resource_, inventory_, in, out);
      if (status.ok()) out.SerializeToString(&response);
      if (observer_ != nullptr) {
        google::protobuf::RepeatedPtrField<std::string> ids;
        for (const auto& container : in.container_requests()) {
          ids.MergeFrom(container.devices_ids());
        }
        AllocationOutcome outcome = outcomeOf(ids);
        outcome.containers = static_cast<size_t>(in.container_requests_size());
        outcome.status = status;
        outcome.duration = std::chrono::steady_clock::now() - started;
        observer_->onAllocate(outcome);
      }
      return status;
    }
    case Method::kPreferred: {
      v1beta1::PreferredAllocationRequest in;
      if (!parse(request, in)) return unparsable("PreferredAllocationRequest");
      v1beta1::PreferredAllocationResponse out;
      grpc::Status status = preferredAllocation(resource_, inventory_, in, out);
      if (status.ok()) out.SerializeToString(&response);
      return status;
    }
    case Method::kPreStart: {
      v1beta1::PreStartContainerRequest in;
      if (!parse(request, in)) return unparsable("PreStartContainerRequest");
      grpc::Status status = grpc::Status::Ok();
      for (const std::string& id : in.devices_ids()) {
        if (inventory_.find(id) == nullptr) {
          status = {grpc::StatusCode::kInvalidArgument,
                    "unknown device ID \"" + id + "\" for resource " + resource_.name};
          break;
        }
      }
      if (status.ok()) v1beta1::PreStartContainerResponse().SerializeToString(&response);
      if (observer_ != nullptr) {
        AllocationOutcome outcome = outcomeOf(in.devices_ids());
        outcome.containers = 1;
        outcome.status = status;
        observer_->onPreStart(outcome);
      }
      return status;
    }
    default:
      return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
  }
}

grpc::Status ResourceService::openStream(const grpc::CallContext& call, std::string_view request,
                                         grpc::ServerStream& stream) {
  if (methodOf(call.path) != Method::kListAndWatch) {
    return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
  }
  v1beta1::Empty empty;
  if (!parse(request, empty)) return unparsable("Empty");
  // call.timeout is not armed: the kubelet sends none on ListAndWatch, and a client that does
  // (grpc-go) cancels the stream itself at its deadline, which ends it here (streamClosed).
  // The unary methods answer within the turn, so no deadline of a peer can pass inside them.
  streams_.push_back(&stream);
  streamTags_.push_back(tagger_ ? tagger_() : 0);
  if (auto list = deviceListMessage()) stream.writeShared(std::move(list), true);
  return grpc::Status::Ok();
}

void ResourceService::streamClosed(grpc::ServerStream& stream) {
  auto it = std::find(streams_.begin(), streams_.end(), &stream);
  if (it == streams_.end()) return;
  streamTags_.erase(streamTags_.begin() + (it - streams_.begin()));
  streams_.erase(it);
}

std::shared_ptr<const std::string> ResourceService::deviceListMessage() {
  // While the gate is closed the kubelet sees the last list sent (no devices before the first).
  if (gate_ && !gate_()) {
    if (!listMessage_) listMessage_ = std::make_shared<std::string>();
    return listMessage_;
  }
  if (!inventory_.dirty()) return listMessage_;
  inventory_.markClean();
  // Encoded apart first, so that a list too large leaves the last good one untouched (streams may
  // still be sending it, and new streams get it).
  encodeDeviceList(inventory_, scratch_);
  if (scratch_.size() > maxListBytes_) {
    if (observer_ != nullptr) {
      observer_->onListWithheld({resource_.name, scratch_.size(), maxListBytes_,
                                 inventory_.devices().size(), !withheld_});
    }
    withheld_ = true;
    return listMessage_;
  }
  // Streams still sending the previous list keep it; it goes with the last of them.
  if (!listMessage_ || listMessage_.use_count() > 1) listMessage_ = std::make_shared<std::string>();
  listMessage_->swap(scratch_);
  if (withheld_ && observer_ != nullptr)
    observer_->onListFitsAgain(resource_.name, listMessage_->size());
  withheld_ = false;
  return listMessage_;
}

void ResourceService::publishIfChanged() {
  if (!inventory_.dirty() || (gate_ && !gate_())) return;
  std::shared_ptr<const std::string> message = deviceListMessage();
  // Nothing new to send: the streams already have (or are sending) the last list that fitted.
  if (withheld_ || !message) return;
  // write() may close a stream (a peer that stopped reading), which calls streamClosed and edits
  // streams_: iterate over a copy.
  std::vector<grpc::ServerStream*> streams = streams_;
  for (grpc::ServerStream* stream : streams) stream->writeShared(message, true);
}

void ResourceService::endStreams() {
  std::vector<grpc::ServerStream*> streams = streams_;
  for (grpc::ServerStream* stream : streams) stream->finish(grpc::Status::Ok());
}

}  // namespace udp::plugin
