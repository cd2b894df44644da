#include "grpc/service_router.h"

#include <string>

namespace udp::grpc {
namespace {

Status unknown(std::string_view path) {
  return {StatusCode::kUnimplemented, "unknown method " + std::string(path)};
}

}  // namespace

Service* ServiceRouter::route(std::string_view path) const {
  for (Service* service : services_) {
    if (service->methodKind(path)) return service;
  }
  return nullptr;
}

std::optional<MethodKind> ServiceRouter::methodKind(std::string_view path) const {
  Service* service = route(path);
  return service ? service->methodKind(path) : std::nullopt;
}

Status ServiceRouter::handleUnary(const CallContext& call, std::string_view request,
                                  std::string& response) {
  Service* service = route(call.path);
  return service ? service->handleUnary(call, request, response) : unknown(call.path);
}

void ServiceRouter::startUnary(const CallContext& call, std::string_view request,
                               UnaryResponder responder) {
  Service* service = route(call.path);
  if (service == nullptr) {
    responder.finish(unknown(call.path));
    return;
  }
  service->startUnary(call, request, std::move(responder));
}

Status ServiceRouter::openStream(const CallContext& call, std::string_view request,
                                 ServerStream& stream) {
  Service* service = route(call.path);
  return service ? service->openStream(call, request, stream) : unknown(call.path);
}

void ServiceRouter::streamClosed(ServerStream& stream) {
  for (Service* service : services_) service->streamClosed(stream);
}

}  // namespace udp::grpc
