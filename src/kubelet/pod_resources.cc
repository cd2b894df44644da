#include "kubelet/pod_resources.h"

#include <errno.h>

#include <algorithm>

#include "util/unix_socket.h"

namespace udp::kubelet {

std::vector<Holder> holdersOf(const v1::ListPodResourcesResponse& response,
                              std::string_view resource, std::string_view deviceId) {
  std::vector<Holder> holders;
  for (const auto& pod : response.pod_resources()) {
    for (const auto& container : pod.containers()) {
      bool holds = std::any_of(
          container.devices().begin(), container.devices().end(), [&](const auto& devices) {
            return devices.resource_name() == resource &&
                   std::find(devices.device_ids().begin(), devices.device_ids().end(), deviceId) !=
                       devices.device_ids().end();
          });
      if (holds) holders.push_back({pod.name(), pod.namespace_(), container.name()});
    }
  }
  return holders;
}

PodResourcesClient::PodResourcesClient(reactor::Reactor& reactor, std::string socketPath)
    : reactor_(reactor), socketPath_(std::move(socketPath)) {}

void PodResourcesClient::query(Done done) {
  if (stopped_) {
    done(makeError(static_cast<int>(grpc::StatusCode::kCancelled), "PodResources client stopped"));
    return;
  }
  if (!waiting_.empty()) {
    waiting_.push_back(std::move(done));
    return;
  }
  // Checked first so that a node without the API costs no socket and no connect.
  if (socketInodeAt(socketPath_) == 0) {
    done(makeError(-ENOENT, "no PodResources socket at " + socketPath_));
    return;
  }
  grpc::UnaryRequest call;
  call.socketPath = socketPath_;
  call.method = "/v1.PodResourcesLister/List";
  call.deadline = kDeadline;
  v1::ListPodResourcesRequest().SerializeToString(&call.message);

  auto onAnswer = [this](const grpc::Status& status, const std::string& bytes) {
    Answer answer = makeError(static_cast<int>(grpc::StatusCode::kInternal), "");
    if (!status.ok()) {
      answer = makeError(static_cast<int>(status.code),
                         "PodResources List on " + socketPath_ + ": " +
                             grpc::statusCodeName(status.code) + ": " + status.message);
    } else if (v1::ListPodResourcesResponse response; response.ParseFromString(bytes)) {
      answer = std::move(response);
    } else {
      answer = makeError(static_cast<int>(grpc::StatusCode::kInternal),
                         "PodResources List on " + socketPath_ + ": malformed response");
    }
    // Taken first: a done that queries again starts a new List rather than joining this one.
    std::vector<Done> waiting = std::move(waiting_);
    waiting_.clear();
    for (Done& done : waiting) done(answer);
  };
  waiting_.push_back(std::move(done));
  auto client = std::make_unique<grpc::UnaryClient>(reactor_, std::move(call), std::move(onAnswer));
  // start() may complete at once, and that done may query again and grow calls_: hold the
  // object, not the slot.
  grpc::UnaryClient& started = *client;
  calls_.push_back(std::move(client));
  started.start();
}

void PodResourcesClient::stop() {
  stopped_ = true;
  // A done that queries again is answered at once now, so calls_ does not grow in this loop.
  for (auto& call : calls_) call->cancel();
}

void PodResourcesClient::sweep() {
  std::erase_if(calls_, [](const auto& call) { return call->finished(); });
}

}  // namespace udp::kubelet
