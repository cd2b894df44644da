#include "grpc/server.h"

#include <algorithm>

#include "util/unix_socket.h"

namespace udp::grpc {

Server::Server(reactor::Reactor& reactor, Service& service, reactor::OpScope* parent)
    : reactor_(reactor), service_(service), scope_(parent) {}

Server::~Server() = default;

Result<void> Server::listen(const std::string& path) {
  auto socket = listenUnix(path);
  if (!socket) return socket.error();
  retireAcceptor();
  path_ = path;
  inode_ = socket->inode;
  acceptor_ = std::make_unique<reactor::Acceptor>(
      reactor_, std::move(socket->fd), [this](UniqueFd fd) { accepted(std::move(fd)); }, &scope_);
  acceptor_->start();
  return {};
}

void Server::stopListening() {
  retireAcceptor();
}

void Server::retireAcceptor() {
  if (!acceptor_) return;
  acceptor_->retire();
  retiredAcceptors_.push_back(std::move(acceptor_));
}

void Server::accepted(UniqueFd fd) {
  auto connection = std::make_unique<ServerConnection>(reactor_, std::move(fd), service_,
                                                       kDefaultMaxMessageSize, &scope_);
  connection->start();
  connections_.push_back(std::move(connection));
}

void Server::closeConnections() {
  for (auto& connection : connections_) connection->closeGracefully();
}

void Server::sweep() {
  for (auto& connection : connections_) connection->sweep();
  std::erase_if(connections_, [](const auto& c) { return c->finished(); });
  std::erase_if(retiredAcceptors_, [](const auto& a) { return a->idle(); });
}

}  // namespace udp::grpc
