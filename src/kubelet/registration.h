#pragma once

// Registration of one resource with the kubelet (DESIGN.md §3): serve first, then Register;
// wait for kubelet.sock without polling; register again whenever the kubelet restarts; retry
// failures with capped exponential backoff; never give up.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api.pb.h"
#include "grpc/server.h"
#include "grpc/unary_client.h"
#include "kubelet/registrar.h"
#include "kubelet/retry_timer.h"
#include "reactor/reactor.h"
#include "util/backoff.h"

namespace udp::kubelet {

struct RegistrationTiming {
  // Short: the common failure is ECONNREFUSED in the instant between the kubelet creating
  // kubelet.sock (our inotify event) and its listen(), which a 10 ms first retry turned into
  // the restart p99.
  std::chrono::milliseconds firstRetry{2};
  std::chrono::milliseconds maxRetry{5000};
  std::chrono::seconds registerDeadline{15};  // the kubelet dials back for up to 10 s inside
  // After the kubelet dropped our ListAndWatch connection: the first Register again waits this
  // long, doubling while the kubelet keeps dropping it, up to maxRetry. A stream that lasted
  // `stableStream` resets it.
  std::chrono::milliseconds firstReconnect{100};
  std::chrono::seconds stableStream{60};
};

class Registration final : public Registrar {
 public:
  Registration(reactor::Reactor& reactor, std::string kubeletDir, std::string resourceName,
               v1beta1::DevicePluginOptions options, grpc::Server& server,
               RegistrationTiming timing = {}, reactor::OpScope* parent = nullptr);
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Told every Register answer (the audit log and the metrics listen here).
  void setOutcomeHandler(std::function<void(const grpc::Status&)> handler) override {
    outcomeHandler_ = std::move(handler);
  }

  // Creates our socket and registers if kubelet.sock is there.
  Result<void> start() override;
  // kubelet.sock appeared (a kubelet started or restarted).
  void kubeletAppeared();
  // kubelet.sock disappeared: stop retrying until it is back.
  void kubeletGone();
  // A directory entry was removed; re-creates our socket if it was ours.
  void entryRemoved(std::string_view name);
  // Re-check everything (directory re-created, events lost).
  void recheck();
  // The kubelet closed the connection that carried our ListAndWatch while kubelet.sock stayed:
  // it will not dial again, so register again after a backoff.
  void connectionLost() override;
  void stop() override;
  void sweep() override;

  RegistrationState state() const override { return state_; }
  const std::string& endpoint() const override { return endpoint_; }
  const std::string& resourceName() const override { return resourceName_; }
  uint64_t registrations() const override { return registrations_; }
  // Register calls sent so far: a ListAndWatch that opens after call N belongs to call N (the
  // kubelet opens it once Register is in, possibly before its answer reaches us).
  uint64_t registerCalls() const override { return registerCalls_; }
  // Nothing in flight: the owner may free it.
  bool idle() const;

 private:
  void attempt();
  void onRegistered(const grpc::Status& status);
  void scheduleRetry();
  void onRetryTimer(int res, uint32_t flags) noexcept;
  bool kubeletSocketPresent() const;
  bool ownSocketPresent() const;
  Result<void> ensureSocket();
  void retireClient();

  reactor::Reactor& reactor_;
  reactor::OpScope scope_;  // counts the retry timer and the Register calls in flight
  std::string kubeletDir_;
  std::string resourceName_;
  std::string endpoint_;  // our socket's file name inside kubeletDir_
  v1beta1::DevicePluginOptions options_;
  grpc::Server& server_;
  RegistrationTiming timing_;

  RegistrationState state_ = RegistrationState::kWaitingForKubelet;
  std::chrono::steady_clock::time_point attemptStarted_;
  std::chrono::steady_clock::time_point registeredAt_;
  Backoff reconnect_;  // the first retry after the kubelet dropped our connection
  uint64_t registrations_ = 0;
  uint64_t registerCalls_ = 0;
  uint64_t attemptGeneration_ = 0;
  bool started_ = false;  // before start() directory events change nothing
  bool stopped_ = false;
  bool announcedWait_ = false;
  std::function<void(const grpc::Status&)> outcomeHandler_;
  std::unique_ptr<grpc::UnaryClient> client_;
  std::vector<std::unique_ptr<grpc::UnaryClient>> retiredClients_;
  reactor::Op retryOp_{reactor::bindOp<&Registration::onRetryTimer>(this, scope_)};
  RetryTimer retry_{reactor_, retryOp_, timing_.firstRetry, timing_.maxRetry};
};

// The socket file name for a resource: "example.com/serial" → "example.com_serial.sock".
std::string endpointFor(std::string_view resourceName);

}  // namespace udp::kubelet
