#include "kubelet/plugin_watcher_registration.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>

#include "kubelet/directory_watch.h"
#include "util/log.h"
#include "util/unix_socket.h"

namespace udp::kubelet {
namespace {

long long millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace

std::string registrationSocketFor(std::string_view resourceName) {
  std::string name(resourceName);
  std::replace(name.begin(), name.end(), '/', '_');
  return name + "-reg.sock";
}

PluginWatcherRegistration::PluginWatcherRegistration(reactor::Reactor& reactor,
                                                     PluginWatcherPaths paths,
                                                     std::string resourceName, grpc::Server& server,
                                                     RegistrationTiming timing,
                                                     reactor::OpScope* parent)
    : PluginWatcherRegistration(
          reactor, paths.registryDir, registrationSocketFor(resourceName),
          devicePluginInfo(resourceName, paths.socketDir + "/" + endpointFor(resourceName)), server,
          timing, parent) {}

PluginWatcherRegistration::PluginWatcherRegistration(
    reactor::Reactor& reactor, const std::string& registryDir, std::string registrationName,
    pluginregistration::PluginInfo info, grpc::Server& server, RegistrationTiming timing,
    reactor::OpScope* parent)
    : reactor_(reactor),
      scope_(parent),
      resourceName_(info.name()),
      endpointPath_(info.endpoint()),
      registrationPath_(registryDir + "/" + registrationName),
      endpointName_(endpointPath_.substr(endpointPath_.rfind('/') + 1)),
      registrationName_(std::move(registrationName)),
      server_(server),
      service_(std::move(info), *this),
      registrationServer_(reactor, service_, grpc::ServerLimits{}, &scope_),
      timing_(timing),
      reconnect_({timing.firstReconnect, timing.maxRetry}) {}

bool PluginWatcherRegistration::ours(const grpc::Server& server) const {
  ino_t inode = server.socketInode();
  return inode != 0 && socketInodeAt(server.path()) == inode;
}

Result<void> PluginWatcherRegistration::ensureEndpoint() {
  if (ours(server_)) return {};
  auto r = server_.listen(endpointPath_);
  if (!r) {
    logError("cannot serve on " + endpointPath_ + ": " + r.error().message,
             {{"resource", resourceName_}});
  }
  return r;
}

Result<void> PluginWatcherRegistration::ensureRegistrationSocket() {
  if (ours(registrationServer_)) return {};
  return listenRegistrationSocket();
}

Result<void> PluginWatcherRegistration::listenRegistrationSocket() {
  // listen() replaces a socket file of ours still there: the kubelet's watcher sees it removed
  // (unregisters what is left of us) and created (registers again).
  auto r = registrationServer_.listen(registrationPath_);
  if (!r) {
    logError("cannot serve the registration socket " + registrationPath_ + ": " + r.error().message,
             {{"resource", resourceName_}});
    return r;
  }
  state_ = RegistrationState::kWaitingForKubelet;
  return r;
}

Result<void> PluginWatcherRegistration::start() {
  started_ = true;
  // The endpoint first: the kubelet dials it as soon as GetInfo has named it.
  if (auto r = ensureEndpoint(); !r) return r;
  if (auto r = ensureRegistrationSocket(); !r) return r;
  logInfo("waiting for the kubelet's plugin watcher on " + registrationPath_,
          {{"resource", resourceName_}, {"endpoint", endpointPath_}});
  return {};
}

void PluginWatcherRegistration::onGetInfo() {
  if (stopped_) return;
  // Registered already: a kubelet that probes its plugins, not a new registration (a new one
  // follows a new socket file or a kubelet restart, and both end our state first).
  if (state_ == RegistrationState::kRegistered) return;
  retry_.cancel();
  state_ = RegistrationState::kRegistering;
  attemptStarted_ = std::chrono::steady_clock::now();
  ++registerCalls_;
}

void PluginWatcherRegistration::onRegistrationStatus(bool registered, std::string_view error) {
  if (stopped_) return;
  grpc::Status status = grpc::Status::Ok();
  if (!registered) {
    // The kubelet's errors are plain Go errors, which reach Register callers as UNKNOWN too.
    status = {grpc::StatusCode::kUnknown,
              error.empty() ? "the kubelet did not register the plugin" : std::string(error)};
  }
  if (outcomeHandler_) outcomeHandler_(status);
  if (registered) {
    state_ = RegistrationState::kRegistered;
    registeredAt_ = std::chrono::steady_clock::now();
    retry_.reset();
    ++registrations_;
    logInfo("registered with the kubelet (plugin watcher) in " +
                std::to_string(millisSince(attemptStarted_)) + " ms",
            {{"resource", resourceName_}, {"endpoint", endpointPath_}});
    return;
  }
  logWarning("the kubelet did not register the plugin: " + status.message +
                 "; re-creating the registration socket in " +
                 std::to_string(retry_.nextDelay().count()) + " ms",
             {{"resource", resourceName_}});
  scheduleRetry();
}

void PluginWatcherRegistration::connectionLost() {
  if (stopped_) return;
  if (state_ != RegistrationState::kRegistered && state_ != RegistrationState::kRegistering) {
    return;  // already on its way back
  }
  if (std::chrono::steady_clock::now() - registeredAt_ >= timing_.stableStream) {
    reconnect_.reset();
  }
  std::chrono::milliseconds delay = reconnect_.next();
  logWarning(
      "the kubelet closed our ListAndWatch connection; re-creating the registration "
      "socket in " +
          std::to_string(delay.count()) + " ms",
      {{"resource", resourceName_}, {"endpoint", endpointPath_}});
  // Failures after it back off from the reconnect delay.
  retry_.startFrom(delay);
  scheduleRetry();
}

void PluginWatcherRegistration::scheduleRetry() {
  if (stopped_) return;
  state_ = RegistrationState::kBackingOff;
  retry_.schedule();
}

void PluginWatcherRegistration::onRetryTimer(int res, uint32_t) noexcept {
  if (stopped_ || !retry_.fired(res)) return;
  if (state_ != RegistrationState::kBackingOff) return;
  recreateRegistrationSocket();
}

void PluginWatcherRegistration::recreateRegistrationSocket() {
  if (!ensureEndpoint() || !listenRegistrationSocket()) {
    scheduleRetry();
    return;
  }
  logInfo("registration socket re-created; waiting for the kubelet's plugin watcher",
          {{"resource", resourceName_}, {"socket", registrationPath_}});
}

void PluginWatcherRegistration::registryEntryRemoved(std::string_view name) {
  if (!started_ || stopped_ || name != registrationName_) return;
  // Our own re-creation removes the old file too; only a missing current socket matters.
  if (ours(registrationServer_)) return;
  logInfo(
      "our registration socket was removed (the kubelet unregisters the resource); serving "
      "it again",
      {{"resource", resourceName_}, {"socket", registrationPath_}});
  if (!ensureRegistrationSocket()) scheduleRetry();
}

void PluginWatcherRegistration::socketDirEntryRemoved(std::string_view name) {
  if (!started_ || stopped_ || name != endpointName_ || ours(server_)) return;
  // The kubelet's connection outlives the file, but its next dial (after a restart) needs it.
  logInfo("our device-plugin socket was removed; serving again",
          {{"resource", resourceName_}, {"endpoint", endpointPath_}});
  if (!ensureEndpoint()) scheduleRetry();
}

void PluginWatcherRegistration::recheck() {
  if (!started_ || stopped_) return;
  if (!ensureEndpoint() || !ensureRegistrationSocket()) scheduleRetry();
}

void PluginWatcherRegistration::stop() {
  stopped_ = true;
  retry_.cancel();
  // The file first: the kubelet unregisters the resource when it goes.
  if (ours(registrationServer_)) ::unlink(registrationPath_.c_str());
  registrationServer_.closeConnections();
  registrationServer_.stopListening();
}

void PluginWatcherRegistration::sweep() {
  registrationServer_.sweep();
}

}  // namespace udp::kubelet
