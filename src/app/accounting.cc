#include "app/accounting.h"

#include <errno.h>

#include <chrono>

#include "build_config.h"
#include "governance/build_facts.h"
#include "governance/process_facts.h"
#include "metrics/endpoints.h"
#include "util/log.h"

namespace udp::app {
namespace {

audit::AuditTime now() {
  return std::chrono::system_clock::now();
}

audit::HealthState stateOf(const plugin::Device* device) {
  if (device == nullptr) return audit::HealthState::kAbsent;
  return device->healthy ? audit::HealthState::kHealthy : audit::HealthState::kUnhealthy;
}

// The metric's result label for an Allocate or PreStart answer.
std::string_view resultLabel(const grpc::Status& status) {
  switch (status.code) {
    case grpc::StatusCode::kOk:
      return "ok";
    case grpc::StatusCode::kInvalidArgument:
      return "unknown_device";
    case grpc::StatusCode::kFailedPrecondition:
      return "unhealthy";
    default:
      return "error";
  }
}

}  // namespace

Accounting::Accounting(reactor::Reactor& reactor, AccountingOptions options,
                       const DaemonView& daemon)
    : reactor_(reactor),
      options_(std::move(options)),
      daemon_(daemon),
      metrics_(UDP_VERSION, governance::currentBuildFacts().commit),
      auditLog_(reactor, options_.audit),
      podResources_(reactor, options_.podResourcesSocket) {
  metrics_.setProcessStartTime(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Result<void> Accounting::start() {
  if (auto r = auditLog_.open(); !r)
    return makeError(r.error().code, "audit log: " + r.error().message);
  if (options_.metricsAddress.empty()) return {};
  metrics::EndpointHooks hooks;
  hooks.refresh = [this](metrics::Metrics& m) { m.setReactorTurns(daemon_.reactorTurns()); };
  hooks.ready = [this] { return daemon_.ready(); };
  hooks.failing = [this] { return failingComponents(); };
  metrics::HttpHandler endpoints = metrics::makeEndpointHandler(metrics_, std::move(hooks));
  http_ = std::make_unique<metrics::HttpServer>(
      reactor_, [this, endpoints](std::string_view method, std::string_view path) {
        if (path == "/describe") return describe();
        return endpoints(method, path);
      });
  if (auto r = http_->listen(options_.metricsAddress); !r) {
    return makeError(r.error().code,
                     "metrics address " + options_.metricsAddress + ": " + r.error().message);
  }
  logInfo("serving /metrics, /healthz, /readyz and /describe",
          {{"address", http_->boundAddress()}});
  return {};
}

std::string Accounting::metricsAddress() const {
  return http_ ? http_->boundAddress() : "";
}

metrics::HttpResponse Accounting::describe() const {
  governance::DescribeInputs inputs = daemon_.describeInputs();
  inputs.metricsAddress = metricsAddress();
  return {200, "application/json",
          governance::describeJson(inputs, governance::readProcessFacts(),
                                   governance::currentBuildFacts()) +
              "\n"};
}

void Accounting::stop() {
  if (http_) http_->stop();
  podResources_.stop();
  auditLog_.stop();
}

bool Accounting::idle() const {
  return auditLog_.idle() && podResources_.idle() && (!http_ || http_->connectionCount() == 0);
}

void Accounting::sweep() {
  if (http_) http_->sweep();
  podResources_.sweep();
}

void Accounting::audit(std::string line) {
  auditLog_.append(std::move(line));
}

void Accounting::registration(std::string_view resource, std::string_view endpoint,
                              const grpc::Status& status) {
  metrics_.registration(resource, status.ok());
  audit::RegistrationAudit event;
  event.resource = resource;
  event.endpoint = endpoint;
  event.ok = status.ok();
  if (!status.ok())
    event.message = statusCodeName(status.code) + std::string(": ") + status.message;
  audit(audit::renderAuditLine(event, now()));
}

void Accounting::kubeletRestarted(std::string_view kubeletDir) {
  metrics_.kubeletRestart();
  audit(audit::renderAuditLine(audit::KubeletRestartAudit{std::string(kubeletDir)}, now()));
}

void Accounting::draSlicesPublished(std::chrono::nanoseconds latency) {
  metrics_.draSlicesPublished(std::chrono::duration<double>(latency).count());
}

void Accounting::draClaim(const draplugin::ClaimEvent& event, std::string_view driver) {
  bool prepare = event.operation == draplugin::ClaimOperation::kPrepare;
  std::string result = !event.error.empty() ? "failed" : event.repeated ? "repeated" : "ok";
  metrics_.draClaim(prepare ? "prepare" : "unprepare", result,
                    std::chrono::duration<double>(event.latency).count());
  audit::ClaimAudit line{.prepare = prepare,
                         .driver = std::string(driver),
                         .namespace_ = event.namespaceName,
                         .claim = event.name,
                         .uid = event.uid,
                         .result = result,
                         .message = event.error};
  for (const dra::ConsumerReference& consumer : event.reservedFor)
    line.pods.push_back(consumer.name);
  for (const draplugin::PreparedDevice& device : event.devices) {
    line.devices.push_back(device.poolName + "/" + device.deviceName);
  }
  audit(audit::renderAuditLine(line, now()));
}

void Accounting::componentUp(std::string_view component) {
  metrics_.setComponentUp(component, true);
  if (auto it = down_.find(component); it != down_.end()) down_.erase(it);
}

void Accounting::componentDown(std::string_view component, std::string_view cause) {
  metrics_.componentFailure(component);
  down_.insert_or_assign(std::string(component), std::string(cause));
}

std::string Accounting::failingComponents() const {
  std::string out;
  for (const auto& [component, cause] : down_) {
    if (!out.empty()) out += "; ";
    out += component;
    out += ": ";
    out += cause;
  }
  return out;
}

void Accounting::resourceState(std::string_view resource, size_t healthy, size_t unhealthy,
                               size_t streams, bool registered) {
  metrics_.setDevices(resource, healthy, unhealthy);
  metrics_.setStreams(resource, streams);
  metrics_.setRegistered(resource, registered);
}

void Accounting::deviceChanged(std::string_view resource, const plugin::Device* before,
                               const plugin::Device* after) {
  audit::HealthAudit event;
  event.from = stateOf(before);
  event.to = stateOf(after);
  if (event.from == event.to) return;  // other details changed, not health
  const plugin::Device& device = after != nullptr ? *after : *before;
  event.resource = resource;
  event.deviceId = device.id;
  event.devnode = device.devnode;
  event.serial = device.serial;
  logDebug(std::string("device ") + audit::healthStateName(event.to),
           {{"resource", resource}, {"device", device.id}});

  if (!auditLog_.wanted()) return;  // the holders only ever go into the line

  // Every failing or leaving device is worth asking about, not only those this process answered
  // Allocate for: after a restart or an upgrade the pods still hold what the previous process
  // handed out, and only the kubelet knows. Its answer says whether anyone holds the device,
  // so no history of our own is kept that could be incomplete. No socket answers at once; a
  // kubelet that does not answer is cut off by the client's deadline.
  bool askHolders = event.to != audit::HealthState::kHealthy;
  // A line behind a pending query queues behind it too (the client answers in the order asked),
  // so that the log keeps the events' order: a device that fails and recovers at once must not
  // read as recovering first.
  if (!askHolders && holderQueries_ == 0) {
    audit(audit::renderAuditLine(event, now()));
    return;
  }
  ++holderQueries_;
  podResources_.query([this, event,
                       askHolders](const kubelet::PodResourcesClient::Answer& answer) mutable {
    --holderQueries_;
    if (askHolders && answer) {
      std::vector<audit::AuditHolder> holders;
      for (const kubelet::Holder& h : kubelet::holdersOf(*answer, event.resource, event.deviceId)) {
        holders.push_back({h.pod, h.namespace_, h.container});
      }
      event.holders = std::move(holders);
    } else if (askHolders && answer.error().code != -ENOENT) {  // no socket: an older kubelet
      logWarning("cannot ask the kubelet who holds the device: " + answer.error().message,
                 {{"resource", event.resource}, {"device", event.deviceId}});
    }
    audit(audit::renderAuditLine(event, now()));
  });
}

void Accounting::onAllocate(const plugin::AllocationOutcome& outcome) {
  metrics_.allocation(outcome.resource, resultLabel(outcome.status));
  metrics_.observeAllocate(outcome.resource,
                           std::chrono::duration<double>(outcome.duration).count());
  if (!auditLog_.wanted()) return;
  audit::AllocateAudit event;
  event.resource = outcome.resource;
  event.deviceIds = outcome.deviceIds;
  for (const plugin::Device* device : outcome.devices) {
    if (!device->devnode.empty()) event.devnodes.push_back(device->devnode);
    if (!device->serial.empty()) event.serials.push_back(device->serial);
  }
  event.result = outcome.status.ok() ? "ok" : outcome.status.message;
  event.containers = outcome.containers;
  audit(audit::renderAuditLine(event, now()));
}

void Accounting::onPreStart(const plugin::AllocationOutcome& outcome) {
  metrics_.preStart(outcome.resource, resultLabel(outcome.status));
  if (!auditLog_.wanted()) return;
  audit::PreStartAudit event;
  event.resource = outcome.resource;
  event.deviceIds = outcome.deviceIds;
  event.result = outcome.status.ok() ? "ok" : outcome.status.message;
  audit(audit::renderAuditLine(event, now()));
}

void Accounting::onListWithheld(const plugin::OversizeList& list) {
  metrics_.listOversize(list.resource);
  if (!list.first) return;  // one line per episode, not one per change while it lasts
  logError(
      "device list over the kubelet's message limit: not sent, the kubelet keeps the last "
      "list that fitted",
      {{"resource", list.resource},
       {"bytes", std::to_string(list.bytes)},
       {"limit", std::to_string(list.limit)},
       {"devices", std::to_string(list.devices)}});
}

void Accounting::onListFitsAgain(std::string_view resource, size_t bytes) {
  logInfo("device list fits the kubelet's message limit again: sent",
          {{"resource", resource}, {"bytes", std::to_string(bytes)}});
}

}  // namespace udp::app
