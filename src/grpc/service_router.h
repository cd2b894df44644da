#pragma once

// Several services on one server (one socket): each call goes to the first service that knows
// its path. The DRA driver serves DRAPlugin and DRAResourceHealth on one dra.sock, since the
// kubelet calls both on the connection it dials.

#include <vector>

#include "grpc/service.h"

namespace udp::grpc {

class ServiceRouter final : public Service {
 public:
  // Borrowed; each must outlive the router.
  explicit ServiceRouter(std::vector<Service*> services) : services_(std::move(services)) {}

  std::optional<MethodKind> methodKind(std::string_view path) const override;
  Status handleUnary(const CallContext& call, std::string_view request,
                     std::string& response) override;
  void startUnary(const CallContext& call, std::string_view request,
                  UnaryResponder responder) override;
  Status openStream(const CallContext& call, std::string_view request,
                    ServerStream& stream) override;
  // Told to every service: each forgets only streams it holds.
  void streamClosed(ServerStream& stream) override;

 private:
  Service* route(std::string_view path) const;

  std::vector<Service*> services_;
};

}  // namespace udp::grpc
