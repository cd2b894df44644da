#include "draplugin/dra_service.h"

#include <algorithm>
#include <set>

#include "util/log.h"
#include "util/utf8.h"

namespace udp::draplugin {
namespace {

std::string claimName(const ClaimRef& ref) {
  return ref.namespaceName + "/" + ref.name;
}

bool isPrepare(std::string_view path) {
  return path == kPrepareV1 || path == kPrepareV1beta1;
}

}  // namespace

DraService::DraService(DraServiceSettings settings, ClaimStore& store, ClaimSource& claims,
                       const DeviceLookup& devices, ClaimObserver* observer)
    : settings_(std::move(settings)),
      store_(store),
      claims_(claims),
      devices_(devices),
      observer_(observer) {}

DraService::~DraService() {
  stop();
}

void DraService::stop() {
  for (auto& [uid, op] : ops_) {
    if (op.ticket) claims_.cancel(*op.ticket);
    op.ticket.reset();
  }
  std::erase_if(ops_, [](const auto& entry) { return !entry.second.writing; });
}

std::optional<grpc::MethodKind> DraService::methodKind(std::string_view path) const {
  if (path == kPrepareV1 || path == kUnprepareV1 || path == kPrepareV1beta1 ||
      path == kUnprepareV1beta1) {
    return grpc::MethodKind::kDeferredUnary;
  }
  return std::nullopt;
}

grpc::Status DraService::handleUnary(const grpc::CallContext& call, std::string_view,
                                     std::string&) {
  return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
}

grpc::Status DraService::openStream(const grpc::CallContext& call, std::string_view,
                                    grpc::ServerStream&) {
  return {grpc::StatusCode::kUnimplemented, "unknown method " + std::string(call.path)};
}

void DraService::startUnary(const grpc::CallContext& context, std::string_view request,
                            grpc::UnaryResponder responder) {
  bool prepare = isPrepare(context.path);
  // Both requests are `repeated Claim claims = 1`: one message type reads either.
  drapb::NodePrepareResourcesRequest parsed;
  if (!parsed.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
    responder.finish({grpc::StatusCode::kInvalidArgument,
                      prepare ? "cannot parse NodePrepareResourcesRequest"
                              : "cannot parse NodeUnprepareResourcesRequest"});
    return;
  }
  std::vector<ClaimRef> refs;
  std::set<std::string> seen;
  for (const drapb::Claim& claim : parsed.claims()) {
    if (!seen.insert(claim.uid()).second) continue;  // one entry per UID in the answer anyway
    refs.push_back({claim.namespace_(), claim.name(), claim.uid()});
  }
  uint64_t id = nextCall_++;
  auto call = std::make_unique<Call>(Call{prepare, responder, {}, {}, refs.size(), Clock::now()});
  calls_.emplace(id, std::move(call));
  if (refs.empty()) {
    answer(id, "", "", nullptr);  // nothing to wait for: answers the empty response
    return;
  }
  responder.onCancel([this, id] { callCancelled(id); });
  // Claims may be answered at once (and the call with the last of them): look the call up
  // again each time rather than hold it.
  for (const ClaimRef& ref : refs) {
    if (ref.uid.empty()) {
      answer(id, ref.uid, "claim " + claimName(ref) + " has no UID", nullptr);
    } else if (prepare) {
      prepareClaim(id, ref);
    } else {
      unprepareClaim(id, ref);
    }
  }
}

void DraService::prepareClaim(uint64_t callId, const ClaimRef& ref) {
  auto running = ops_.find(ref.uid);
  if (running != ops_.end()) {
    if (running->second.prepare) {
      running->second.waiters.push_back(callId);  // a retry of a call still being handled
    } else {
      answer(callId, ref.uid, "ResourceClaim " + claimName(ref) + " is being unprepared", nullptr);
    }
    return;
  }
  if (const PreparedClaim* prepared = store_.find(ref.uid)) {
    if (store_.specPresent(*prepared)) {
      answerAtOnce(callId, ref, true);
      return;
    }
    logWarning("the CDI spec of a prepared claim is gone; preparing it again",
               {{"claim", claimName(ref)}, {"uid", ref.uid}});
  }
  uint64_t serial = nextSerial_++;
  Op& op = ops_[ref.uid];
  op = Op{serial, true, ref, {callId}, std::nullopt, false, Clock::now()};
  uint64_t ticket = claims_.fetch(ref.namespaceName, ref.name,
                                  [this, uid = ref.uid, serial](Result<dra::ResourceClaim> r) {
                                    fetched(uid, serial, std::move(r));
                                  });
  // The claim may have been read already, inside fetch().
  auto still = ops_.find(ref.uid);
  if (still != ops_.end() && still->second.serial == serial && !still->second.writing) {
    still->second.ticket = ticket;
  }
}

void DraService::fetched(const std::string& uid, uint64_t serial,
                         Result<dra::ResourceClaim> claim) {
  auto it = ops_.find(uid);
  if (it == ops_.end() || it->second.serial != serial || it->second.writing) return;
  Op& op = it->second;
  op.ticket.reset();
  if (!claim) {
    finishOp(uid, "cannot read ResourceClaim " + claimName(op.ref) + ": " + claim.error().message);
    return;
  }
  auto plan = planClaim(settings_.driverName, settings_.poolName, op.ref, *claim, devices_);
  if (!plan) {
    finishOp(uid, plan.error().message);
    return;
  }
  op.writing = true;
  auto prepared = std::make_shared<PreparedClaim>(plan->prepared);
  store_.prepare(std::move(plan->prepared), std::move(plan->cdiSpec),
                 [this, uid, prepared](const Result<void>& r) {
                   finishOp(uid, r ? "" : r.error().message, prepared.get());
                 });
}

void DraService::unprepareClaim(uint64_t callId, const ClaimRef& ref) {
  auto running = ops_.find(ref.uid);
  if (running != ops_.end()) {
    if (!running->second.prepare) {
      running->second.waiters.push_back(callId);
    } else {
      answer(callId, ref.uid, "ResourceClaim " + claimName(ref) + " is still being prepared",
             nullptr);
    }
    return;
  }
  const PreparedClaim* prepared = store_.find(ref.uid);
  if (prepared == nullptr) {
    answerAtOnce(callId, ref, false);
    return;
  }
  Op& op = ops_[ref.uid];
  op = Op{nextSerial_++, false, ref, {callId}, std::nullopt, true, Clock::now()};
  auto before = std::make_shared<PreparedClaim>(*prepared);
  store_.unprepare(ref.uid, [this, uid = ref.uid, before](const Result<void>& r) {
    finishOp(uid, r ? "" : r.error().message, before.get());
  });
}

void DraService::answerAtOnce(uint64_t callId, const ClaimRef& ref, bool prepare) {
  auto finish = [this, callId, ref, prepare, started = Clock::now()](const Result<void>& r) {
    const PreparedClaim* prepared = prepare ? store_.find(ref.uid) : nullptr;
    std::string error = r ? "" : r.error().message;
    if (prepare && r && prepared == nullptr) {
      error = "ResourceClaim " + claimName(ref) + " was unprepared meanwhile";
    }
    notify(prepare, ref, prepared, error, true, started);
    answer(callId, ref.uid, error, prepared);
  };
  // Only what is on disk is answered: after a failed checkpoint write, write it again first.
  if (store_.checkpointDirty()) {
    store_.persist(std::move(finish));
  } else {
    finish({});
  }
}

void DraService::finishOp(const std::string& uid, const std::string& error,
                          const PreparedClaim* prepared) {
  auto it = ops_.find(uid);
  if (it == ops_.end()) return;
  Op op = std::move(it->second);
  ops_.erase(it);
  if (!error.empty()) {
    logWarning(std::string(op.prepare ? "NodePrepareResources" : "NodeUnprepareResources") +
                   " failed for a claim: " + error,
               {{"claim", claimName(op.ref)}, {"uid", uid}});
  }
  notify(op.prepare, op.ref, prepared, error, false, op.started);
  for (uint64_t callId : op.waiters) answer(callId, uid, error, error.empty() ? prepared : nullptr);
}

void DraService::answer(uint64_t callId, const std::string& uid, const std::string& error,
                        const PreparedClaim* prepared) {
  auto it = calls_.find(callId);
  if (it == calls_.end()) return;  // cancelled meanwhile
  Call& call = *it->second;
  if (call.outstanding > 0) {
    if (call.prepare) {
      drapb::NodePrepareResourceResponse& entry = (*call.prepared.mutable_claims())[uid];
      if (!error.empty()) {
        entry.set_error(validUtf8Prefix(error, std::string_view::npos));
      } else if (prepared != nullptr) {
        for (const PreparedDevice& device : prepared->devices) {
          drapb::Device* out = entry.add_devices();
          for (const std::string& request : device.requestNames) out->add_request_names(request);
          out->set_pool_name(device.poolName);
          out->set_device_name(device.deviceName);
          for (const std::string& id : device.cdiDeviceIds) out->add_cdi_device_ids(id);
        }
      }
    } else {
      drapb::NodeUnprepareResourceResponse& entry = (*call.unprepared.mutable_claims())[uid];
      if (!error.empty()) entry.set_error(validUtf8Prefix(error, std::string_view::npos));
    }
    --call.outstanding;
  }
  if (call.outstanding > 0) return;
  std::unique_ptr<Call> done = std::move(it->second);
  calls_.erase(it);
  std::string bytes =
      done->prepare ? done->prepared.SerializeAsString() : done->unprepared.SerializeAsString();
  done->responder.finish(grpc::Status::Ok(), bytes);
}

void DraService::callCancelled(uint64_t callId) {
  calls_.erase(callId);
  for (auto it = ops_.begin(); it != ops_.end();) {
    Op& op = it->second;
    std::erase(op.waiters, callId);
    if (op.waiters.empty() && !op.writing) {
      // Nobody waits for the claim any more: stop reading it. A retry starts afresh.
      if (op.ticket) claims_.cancel(*op.ticket);
      it = ops_.erase(it);
      continue;
    }
    ++it;
  }
}

void DraService::notify(bool prepare, const ClaimRef& ref, const PreparedClaim* prepared,
                        const std::string& error, bool repeated, Clock::time_point started) {
  if (observer_ == nullptr) return;
  ClaimEvent event;
  event.operation = prepare ? ClaimOperation::kPrepare : ClaimOperation::kUnprepare;
  event.namespaceName = ref.namespaceName;
  event.name = ref.name;
  event.uid = ref.uid;
  if (prepared != nullptr) {
    event.reservedFor = prepared->reservedFor;
    event.devices = prepared->devices;
  }
  event.error = error;
  event.repeated = repeated;
  event.latency = Clock::now() - started;
  observer_->onClaimEvent(event);
}

}  // namespace udp::draplugin
