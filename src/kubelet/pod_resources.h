#pragma once

// Who holds a device (DESIGN.md §3, PodResources): the kubelet's PodResources API answers which
// pod and container each allocated device ID went to. The audit log names them when a held
// device turns unhealthy or leaves. One List call answers every query made while it is in flight,
// over our own unary gRPC client.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/unary_client.h"
#include "podresources.pb.h"
#include "reactor/reactor.h"
#include "util/result.h"

namespace udp::kubelet {

inline constexpr const char* kPodResourcesSocket = "/var/lib/kubelet/pod-resources/kubelet.sock";

struct Holder {
  std::string pod{};
  std::string namespace_{};
  std::string container{};

  bool operator==(const Holder&) const = default;
};

// Every container in `response` that holds `deviceId` of `resource`, in the response's order.
// IDs match exactly: with shares > 1 the kubelet holds "<id>-<k>", so ask for each of those.
std::vector<Holder> holdersOf(const v1::ListPodResourcesResponse& response,
                              std::string_view resource, std::string_view deviceId);

class PodResourcesClient {
 public:
  using Answer = Result<v1::ListPodResourcesResponse>;
  using Done = std::function<void(const Answer&)>;
  static constexpr std::chrono::seconds kDeadline{2};

  // Destroy only when idle(): each call's ops belong to the kernel until they complete.
  PodResourcesClient(reactor::Reactor& reactor, std::string socketPath = kPodResourcesSocket);
  PodResourcesClient(const PodResourcesClient&) = delete;
  PodResourcesClient& operator=(const PodResourcesClient&) = delete;

  // Who holds what, from a List call. `done` runs exactly once: from a completion, or before
  // query() returns when the socket does not exist (no kubelet, or an older one without the API),
  // without connecting. Errors carry the gRPC status code, or -ENOENT for the missing socket.
  //
  // A query made while a List is in flight waits for that List's answer instead of making its
  // own: when a hub with twenty held devices is unplugged, its removals (one turn, or a few in
  // quick succession) cost the kubelet one List, not twenty. An answer to a List already under
  // way is as good as a new one: the kubelet keeps a device's holders when the device leaves.
  void query(Done done);
  // Ends the calls in flight; their `done` gets CANCELLED, as does any later query's.
  void stop();
  // Frees finished calls; the owner runs it at the end of a reactor turn, never in a completion.
  void sweep();
  bool idle() const { return calls_.empty(); }

 private:
  reactor::Reactor& reactor_;
  std::string socketPath_;
  std::vector<std::unique_ptr<grpc::UnaryClient>> calls_;
  // The queries the List in flight will answer; empty when none is.
  std::vector<Done> waiting_;
  bool stopped_ = false;
};

}  // namespace udp::kubelet
