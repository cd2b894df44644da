#include "grpc/server.h"

#include <algorithm>

#include "util/log.h"
#include "util/unix_socket.h"

namespace udp::grpc {

Server::Server(reactor::Reactor& reactor, Service& service, ServerLimits limits,
               reactor::OpScope* parent)
    : reactor_(reactor), service_(service), limits_(limits), scope_(parent) {}

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
  if (connections_.size() >= limits_.maxConnections) {
    // Closing it at once (fd goes out of scope) is cheaper for both sides than leaving it in the
    // backlog: the peer learns at once. Logged once: a flood must not flood the log too.
    if (rejectedConnections_++ == 0) {
      logWarning("gRPC server: connection limit reached; closing new connections at once",
                 {{"socket", path_}, {"limit", std::to_string(limits_.maxConnections)}});
    }
    return;
  }
  auto connection =
      std::make_unique<ServerConnection>(reactor_, std::move(fd), service_, limits_, &scope_);
  connection->start();
  connections_.push_back(std::move(connection));
}

void Server::closeConnections() {
  for (auto& connection : connections_) connection->closeGracefully();
}

void Server::sweep() {
  for (auto& connection : connections_) connection->sweep();
  std::erase_if(connections_, [this](const auto& c) {
    if (!c->finished()) return false;
    timedOutConnections_ += c->timedOut();
    return true;
  });
  std::erase_if(retiredAcceptors_, [](const auto& a) { return a->idle(); });
}

size_t Server::bufferedRequestBytes() const {
  size_t total = 0;
  for (const auto& connection : connections_) total += connection->bufferedRequestBytes();
  return total;
}

}  // namespace udp::grpc
