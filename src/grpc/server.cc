#include "grpc/server.h"

#include <errno.h>

#include <algorithm>

#include "util/unix_socket.h"

namespace udp::grpc {
namespace {

// Out of fds: accepting again at once would spin. Existing connections keep being served.
constexpr auto kAcceptRetryAfterEmfile = std::chrono::milliseconds(100);

}  // namespace

Server::Server(reactor::Reactor& reactor, Service& service)
    : reactor_(reactor), service_(service) {}

Server::~Server() = default;

Result<void> Server::listen(const std::string& path) {
  auto socket = listenUnix(path);
  if (!socket) return socket.error();
  if (listener_) retire(std::move(listener_));
  path_ = path;
  listener_ = std::make_unique<Listener>(*this);
  listener_->fd = std::move(socket->fd);
  listener_->inode = socket->inode;
  listener_->arm();
  return {};
}

void Server::stopListening() {
  if (listener_) retire(std::move(listener_));
}

void Server::retire(std::unique_ptr<Listener> listener) {
  listener->retired = true;
  reactor_.cancel(listener->acceptOp);
  reactor_.cancel(listener->retryOp);
  retiredListeners_.push_back(std::move(listener));
}

void Server::closeConnections() {
  for (auto& connection : connections_) connection->closeGracefully();
}

void Server::sweep() {
  for (auto& connection : connections_) connection->sweep();
  std::erase_if(connections_, [](const auto& c) { return c->finished(); });
  std::erase_if(retiredListeners_,
                [](const auto& l) { return !l->acceptOp.pending() && !l->retryOp.pending(); });
}

void Server::Listener::arm() {
  if (!retired) server.reactor_.accept(acceptOp, fd.get());
}

void Server::Listener::onAccept(int res, uint32_t) noexcept {
  if (retired) return;
  if (res >= 0) {
    auto connection =
        std::make_unique<ServerConnection>(server.reactor_, UniqueFd(res), server.service_);
    connection->start();
    server.connections_.push_back(std::move(connection));
  } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    server.reactor_.timeout(retryOp, kAcceptRetryAfterEmfile);
    return;
  }
  arm();
}

void Server::Listener::onRetryTimer(int, uint32_t) noexcept {
  arm();
}

}  // namespace udp::grpc
