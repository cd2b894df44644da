#pragma once

// What a resource's runtime needs of its registration with the kubelet, whichever way it goes:
// a Register call on kubelet.sock (registration.h) or a registration socket the kubelet's plugin
// watcher dials (plugin_watcher_registration.h). The directory events each one reacts to differ,
// so the daemon reaches those through the concrete types.

#include <cstdint>
#include <functional>
#include <string>

#include "grpc/status.h"
#include "util/result.h"

namespace udp::kubelet {

enum class RegistrationState { kWaitingForKubelet, kRegistering, kRegistered, kBackingOff };
const char* stateName(RegistrationState state);

class Registrar {
 public:
  virtual ~Registrar() = default;

  // Told every registration outcome the kubelet gives (the audit log and the metrics listen).
  virtual void setOutcomeHandler(std::function<void(const grpc::Status&)> handler) = 0;
  // Serves our sockets and starts registering. Before it, the directory events change nothing:
  // a reload's new runtime may wait to register (Daemon::reload).
  virtual Result<void> start() = 0;
  // The kubelet closed the connection that carried the current ListAndWatch while it kept
  // running: it will not dial again by itself, so register again after a backoff.
  virtual void connectionLost() = 0;
  // Stops registering and removes what only registration needs.
  virtual void stop() = 0;
  // End of a reactor turn: frees what finished.
  virtual void sweep() = 0;

  virtual RegistrationState state() const = 0;
  virtual const std::string& resourceName() const = 0;
  // The device-plugin socket as the kubelet is told of it.
  virtual const std::string& endpoint() const = 0;
  // Successful registrations so far.
  virtual uint64_t registrations() const = 0;
  // Registration attempts begun so far: a ListAndWatch that opens after attempt N belongs to it
  // (the kubelet opens it before it tells us the outcome).
  virtual uint64_t registerCalls() const = 0;
};

}  // namespace udp::kubelet
