#include "app/resource_runtime.h"

#include <errno.h>
#include <unistd.h>

#include "plugin/cdi_spec.h"
#include "util/log.h"
#include "util/unix_socket.h"

namespace udp::app {
namespace {

v1beta1::DevicePluginOptions optionsFor(const config::Resource& resource) {
  v1beta1::DevicePluginOptions options;
  options.set_pre_start_required(false);
  options.set_get_preferred_allocation_available(resource.preferredAllocation ==
                                                 config::PreferredAllocation::kNuma);
  return options;
}

}  // namespace

ResourceRuntime::ResourceRuntime(reactor::Reactor& reactor, const config::Resource& resource,
                                 const Where& where, plugin::ServiceObserver* observer,
                                 OutcomeHandler onOutcome, kubelet::RegistrationTiming timing)
    : reactor_(reactor),
      service_(resource, observer),
      server_(reactor, service_, grpc::ServerLimits{}, &scope_) {
  if (where.registration == config::RegistrationMode::kPluginWatcher) {
    auto registrar = std::make_unique<kubelet::PluginWatcherRegistration>(
        reactor, where.pluginWatcher, resource.name, server_, timing, &scope_);
    pluginWatcher_ = registrar.get();
    registrar_ = std::move(registrar);
  } else {
    auto registrar = std::make_unique<kubelet::Registration>(
        reactor, where.kubeletDir, resource.name, optionsFor(resource), server_, timing, &scope_);
    kubeletRegistration_ = registrar.get();
    registrar_ = std::move(registrar);
  }
  service_.setStreamTagger([this] { return registrar_->registerCalls(); });
  if (resource.cdi) {
    cdi_ = std::make_unique<CdiSpecWriter>(
        reactor, where.cdiDir, plugin::cdiSpecFileName(resource.name),
        [this](uint64_t generation, const Result<void>& result) {
          if (!result) {
            // The list still goes out: holding every device back would hide the failure from
            // nobody but the pods; their containers fail with a CDI error that names it.
            logError("CDI spec: " + result.error().message, {{"resource", this->resource().name}});
          }
          cdiOnDisk_ = generation;
        },
        &scope_);
    // The spec must name a device before the kubelet can hand it to a container.
    service_.setPublishGate([this] { return cdiOnDisk_ == service_.inventory().generation(); });
  }
  registrar_->setOutcomeHandler(
      [this, onOutcome = std::move(onOutcome)](const grpc::Status& status) {
        if (onOutcome) onOutcome(*registrar_, status);
      });
}

void ResourceRuntime::shutDown() {
  stopServing();
  endHandOver();
  server_.closeConnections();
}

void ResourceRuntime::handOver(std::chrono::milliseconds limit) {
  stopServing();
  handOver_ = HandOver::kWaiting;
  reactor_.timeout(handOverOp_, limit);
}

void ResourceRuntime::endHandOver() {
  if (handOver_ != HandOver::kWaiting) return;
  handOver_ = HandOver::kEnded;
  reactor_.cancel(handOverOp_);
}

void ResourceRuntime::onHandOverTimer(int res, uint32_t) noexcept {
  if (res == -ECANCELED) return;  // ended meanwhile
  handOver_ = HandOver::kExpired;
  server_.closeConnections();
}

void ResourceRuntime::stopServing() {
  shutDown_ = true;
  registrationHeld_ = false;
  registrar_->stop();
  service_.endStreams();
  // Remove our socket only if it is still ours (a restarted kubelet may have cleaned up).
  if (server_.socketInode() != 0 && socketInodeAt(server_.path()) == server_.socketInode()) {
    ::unlink(server_.path().c_str());
  }
  server_.stopListening();
}

Result<void> ResourceRuntime::releaseRegistration() {
  if (!registrationHeld_) return {};  // shut down meanwhile: a stop never registers
  registrationHeld_ = false;
  return registrar_->start();
}

std::pair<uint64_t, uint64_t> ResourceRuntime::takeClosedConnections() {
  uint64_t rejected = server_.rejectedConnections() - reportedRejected_;
  uint64_t timedOut = server_.timedOutConnections() - reportedTimedOut_;
  reportedRejected_ = server_.rejectedConnections();
  reportedTimedOut_ = server_.timedOutConnections();
  return {rejected, timedOut};
}

void ResourceRuntime::turnEnd() {
  if (cdi_ && !shutDown_) {
    uint64_t generation = service_.inventory().generation();
    if (cdi_->requested() != generation) {
      cdi_->write(generation, plugin::renderCdiSpec(resource(), service_.inventory()));
    }
  }
  service_.publishIfChanged();
  registrar_->sweep();
  server_.sweep();
  // The kubelet has closed every connection (or there was none): nothing left to hand over.
  if (server_.connectionCount() == 0) endHandOver();
  // The kubelet ends a ListAndWatch it will not read again (a failed send, a message over its
  // limit) by closing the connection, and never dials us again: the resource would stay
  // unhealthy until deleted. Registering again is the only way back. Only the streams of the
  // current Register call count: one of an earlier call (a restarted kubelet's, or the one the
  // kubelet replaces on a new Register) closing says nothing about the current registration.
  uint64_t call = registrar_->registerCalls();
  size_t streams = service_.streamCount(call);
  if (!shutDown_ && call == streamsCall_ && streamsOfCall_ > 0 && streams == 0) {
    registrar_->connectionLost();
  }
  streamsCall_ = call;
  streamsOfCall_ = streams;
}

}  // namespace udp::app
