#include "kubelet/registration.h"

#include <errno.h>

#include <algorithm>

#include "util/log.h"
#include "util/unix_socket.h"

namespace udp::kubelet {
namespace {

constexpr const char* kKubeletSocket = "kubelet.sock";

long long millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
             .count() /
         1000;
}

}  // namespace

const char* stateName(RegistrationState state) {
  switch (state) {
    case RegistrationState::kWaitingForKubelet:
      return "waiting-for-kubelet";
    case RegistrationState::kRegistering:
      return "registering";
    case RegistrationState::kRegistered:
      return "registered";
    case RegistrationState::kBackingOff:
      return "backing-off";
  }
  return "unknown";
}

std::string endpointFor(std::string_view resourceName) {
  std::string name(resourceName);
  std::replace(name.begin(), name.end(), '/', '_');
  return name + ".sock";
}

Registration::Registration(reactor::Reactor& reactor, std::string kubeletDir,
                           std::string resourceName, v1beta1::DevicePluginOptions options,
                           grpc::Server& server, RegistrationTiming timing,
                           reactor::OpScope* parent)
    : reactor_(reactor),
      scope_(parent),
      kubeletDir_(std::move(kubeletDir)),
      resourceName_(std::move(resourceName)),
      endpoint_(endpointFor(resourceName_)),
      options_(std::move(options)),
      server_(server),
      timing_(timing),
      reconnect_({timing.firstReconnect, timing.maxRetry}) {}

bool Registration::kubeletSocketPresent() const {
  return socketInodeAt(kubeletDir_ + "/" + kKubeletSocket) != 0;
}

bool Registration::ownSocketPresent() const {
  ino_t inode = server_.socketInode();
  return inode != 0 && socketInodeAt(kubeletDir_ + "/" + endpoint_) == inode;
}

Result<void> Registration::ensureSocket() {
  if (ownSocketPresent()) return {};
  auto r = server_.listen(kubeletDir_ + "/" + endpoint_);
  if (!r) {
    logError("cannot serve on " + kubeletDir_ + "/" + endpoint_ + ": " + r.error().message,
             {{"resource", resourceName_}});
  }
  return r;
}

Result<void> Registration::start() {
  started_ = true;
  if (auto r = ensureSocket(); !r) return r;
  attempt();
  return {};
}

void Registration::kubeletAppeared() {
  if (!started_ || stopped_) return;
  retry_.reset();
  reconnect_.reset();
  retry_.cancel();
  if (!ensureSocket()) {
    scheduleRetry();
    return;
  }
  attempt();
}

void Registration::kubeletGone() {
  if (!started_ || stopped_) return;
  retireClient();
  retry_.cancel();
  if (state_ == RegistrationState::kRegistered) {
    logWarning("kubelet.sock removed; waiting for the kubelet", {{"resource", resourceName_}});
  }
  state_ = RegistrationState::kWaitingForKubelet;
}

void Registration::entryRemoved(std::string_view name) {
  if (!started_ || stopped_ || name != endpoint_) return;
  // Our own re-creation also removes the old file; only a missing current socket matters.
  if (ownSocketPresent()) return;
  logInfo("our socket was removed (kubelet restart); serving again",
          {{"resource", resourceName_}, {"endpoint", endpoint_}});
  if (!ensureSocket()) {
    scheduleRetry();
    return;
  }
  attempt();
}

void Registration::recheck() {
  if (!started_ || stopped_) return;
  if (!ensureSocket()) {
    scheduleRetry();
    return;
  }
  attempt();
}

void Registration::connectionLost() {
  if (stopped_) return;
  if (state_ != RegistrationState::kRegistered && state_ != RegistrationState::kRegistering) {
    return;  // already on its way back
  }
  auto now = std::chrono::steady_clock::now();
  if (now - registeredAt_ >= timing_.stableStream) reconnect_.reset();
  std::chrono::milliseconds delay = reconnect_.next();
  logWarning("the kubelet closed our ListAndWatch connection; registering again in " +
                 std::to_string(delay.count()) + " ms",
             {{"resource", resourceName_}, {"endpoint", endpoint_}});
  retireClient();
  retry_.cancel();
  // Failures after it back off from the reconnect delay.
  retry_.startFrom(delay);
  scheduleRetry();
}

void Registration::attempt() {
  if (stopped_) return;
  retireClient();
  if (!kubeletSocketPresent()) {
    if (state_ != RegistrationState::kWaitingForKubelet || !announcedWait_) {
      announcedWait_ = true;
      logInfo("waiting for " + kubeletDir_ + "/" + kKubeletSocket, {{"resource", resourceName_}});
    }
    state_ = RegistrationState::kWaitingForKubelet;
    return;  // the directory watch wakes us when it appears
  }
  state_ = RegistrationState::kRegistering;
  attemptStarted_ = std::chrono::steady_clock::now();

  v1beta1::RegisterRequest request;
  request.set_version("v1beta1");
  request.set_endpoint(endpoint_);
  request.set_resource_name(resourceName_);
  *request.mutable_options() = options_;

  grpc::UnaryRequest call;
  call.socketPath = kubeletDir_ + "/" + kKubeletSocket;
  call.method = "/v1beta1.Registration/Register";
  call.deadline = timing_.registerDeadline;
  request.SerializeToString(&call.message);
  uint64_t generation = ++attemptGeneration_;
  client_ = std::make_unique<grpc::UnaryClient>(
      reactor_, std::move(call),
      [this, generation](const grpc::Status& status, const auto&) {
        if (generation == attemptGeneration_) onRegistered(status);
      },
      &scope_);
  client_->start();
  ++registerCalls_;
}

void Registration::onRegistered(const grpc::Status& status) {
  if (stopped_) return;
  if (outcomeHandler_) outcomeHandler_(status);
  if (status.ok()) {
    state_ = RegistrationState::kRegistered;
    registeredAt_ = std::chrono::steady_clock::now();
    retry_.reset();
    ++registrations_;
    logInfo(
        "registered with the kubelet in " + std::to_string(millisSince(attemptStarted_)) + " ms",
        {{"resource", resourceName_}, {"endpoint", endpoint_}});
    return;
  }
  logWarning("Register failed: " + std::string(statusCodeName(status.code)) + ": " +
                 status.message + "; retrying in " + std::to_string(retry_.nextDelay().count()) +
                 " ms",
             {{"resource", resourceName_}});
  scheduleRetry();
}

void Registration::scheduleRetry() {
  if (stopped_) return;
  state_ = RegistrationState::kBackingOff;
  retry_.schedule();
}

void Registration::onRetryTimer(int res, uint32_t) noexcept {
  if (stopped_ || !retry_.fired(res)) return;
  if (state_ != RegistrationState::kBackingOff) return;
  recheck();
}

void Registration::retireClient() {
  if (!client_) return;
  ++attemptGeneration_;  // the old call's answer no longer counts
  client_->cancel();
  retiredClients_.push_back(std::move(client_));
}

void Registration::stop() {
  stopped_ = true;
  retireClient();
  retry_.cancel();
}

void Registration::sweep() {
  std::erase_if(retiredClients_, [](const auto& c) { return c->finished(); });
  if (client_ && client_->finished() && state_ != RegistrationState::kRegistering) {
    retiredClients_.push_back(std::move(client_));
  }
}

bool Registration::idle() const {
  return scope_.idle();
}

}  // namespace udp::kubelet
