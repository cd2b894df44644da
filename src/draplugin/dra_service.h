#pragma once

// The kubelet's DRAPlugin service (docs/dra-kubelet.md), v1 and v1beta1 (the same messages):
// NodePrepareResources reads each claim from the API server (ClaimSource), checks it, finds its
// devices (DeviceLookup), writes its CDI spec and checkpoints it, then answers with the CDI
// device IDs; NodeUnprepareResources removes the spec and forgets the claim. Every claim of a
// call gets an entry; an error is the claim's own. Both are idempotent: a claim prepared already
// is answered from the checkpointed state without the API server, a claim not prepared here is
// unprepared at once. Calls are deferred (grpc::UnaryResponder): the loop never waits for the
// API server or the disk.
//
// A claim being handled is one operation however many calls ask for it (the kubelet retries a
// call that timed out); an operation nobody waits for any more stops while it is still reading
// the claim, and runs to its end once its files are being written.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dra.pb.h"
#include "draplugin/claim_observer.h"
#include "draplugin/claim_plan.h"
#include "draplugin/claim_source.h"
#include "draplugin/claim_store.h"
#include "grpc/service.h"

namespace udp::draplugin {

namespace drapb = k8s::io::kubelet::pkg::apis::dra::v1;

inline constexpr std::string_view kPrepareV1 =
    "/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodePrepareResources";
inline constexpr std::string_view kUnprepareV1 =
    "/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodeUnprepareResources";
inline constexpr std::string_view kPrepareV1beta1 =
    "/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodePrepareResources";
inline constexpr std::string_view kUnprepareV1beta1 =
    "/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodeUnprepareResources";

struct DraServiceSettings {
  std::string driverName;
  std::string poolName;  // this node's pool: the node name
};

class DraService final : public grpc::Service {
 public:
  // `store`, `claims` and `devices` are borrowed; `observer` may be null.
  DraService(DraServiceSettings settings, ClaimStore& store, ClaimSource& claims,
             const DeviceLookup& devices, ClaimObserver* observer = nullptr);
  ~DraService() override;
  DraService(const DraService&) = delete;
  DraService& operator=(const DraService&) = delete;

  std::optional<grpc::MethodKind> methodKind(std::string_view path) const override;
  grpc::Status handleUnary(const grpc::CallContext& call, std::string_view request,
                           std::string& response) override;
  void startUnary(const grpc::CallContext& call, std::string_view request,
                  grpc::UnaryResponder responder) override;
  grpc::Status openStream(const grpc::CallContext& call, std::string_view request,
                          grpc::ServerStream& stream) override;
  void streamClosed(grpc::ServerStream&) override {}

  // Stops every claim read in flight; calls still waiting are left to the server, which answers
  // them when it closes its connections.
  void stop();
  // Claims being prepared or unprepared now.
  size_t operationsInFlight() const { return ops_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Call {
    bool prepare = true;
    grpc::UnaryResponder responder;
    drapb::NodePrepareResourcesResponse prepared;
    drapb::NodeUnprepareResourcesResponse unprepared;
    size_t outstanding = 0;  // claims not answered yet
    Clock::time_point started;
  };
  struct Op {  // one claim being prepared or unprepared
    uint64_t serial = 0;
    bool prepare = true;
    ClaimRef ref;
    std::vector<uint64_t> waiters;   // the calls that want its outcome
    std::optional<uint64_t> ticket;  // the claim read in flight
    bool writing = false;            // its files are being written: it runs to its end
    Clock::time_point started;
  };

  void prepareClaim(uint64_t callId, const ClaimRef& ref);
  void unprepareClaim(uint64_t callId, const ClaimRef& ref);
  void fetched(const std::string& uid, uint64_t serial, Result<dra::ResourceClaim> claim);
  // Ends the operation: every waiting call gets `error` (empty: done) for the claim.
  void finishOp(const std::string& uid, const std::string& error,
                const PreparedClaim* prepared = nullptr);
  // Answers an already prepared (or, unpreparing, unknown) claim without an operation.
  void answerAtOnce(uint64_t callId, const ClaimRef& ref, bool prepare);
  void answer(uint64_t callId, const std::string& uid, const std::string& error,
              const PreparedClaim* prepared);
  void callCancelled(uint64_t callId);
  void notify(bool prepare, const ClaimRef& ref, const PreparedClaim* prepared,
              const std::string& error, bool repeated, Clock::time_point started);

  DraServiceSettings settings_;
  ClaimStore& store_;
  ClaimSource& claims_;
  const DeviceLookup& devices_;
  ClaimObserver* observer_;
  std::map<uint64_t, std::unique_ptr<Call>> calls_;
  std::map<std::string, Op, std::less<>> ops_;  // by claim UID
  uint64_t nextCall_ = 1;
  uint64_t nextSerial_ = 1;
};

}  // namespace udp::draplugin
