#pragma once

// A gRPC server on one unix socket: accepts on the reactor and owns its connections, at most
// ServerLimits::maxConnections of them.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "grpc/server_connection.h"
#include "grpc/service.h"
#include "reactor/acceptor.h"
#include "reactor/reactor.h"
#include "util/result.h"

namespace udp::grpc {

class Server {
 public:
  // `parent`: the owner's scope, which then counts the ops of the listener and connections.
  Server(reactor::Reactor& reactor, Service& service, ServerLimits limits = {},
         reactor::OpScope* parent = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // (Re)creates the socket at `path` and accepts on it; a previous listener is retired.
  // Connections already accepted are kept.
  Result<void> listen(const std::string& path);
  void stopListening();
  // Ends every call (open streams with OK) and closes each connection after its queued bytes.
  void closeConnections();
  // Frees finished connections and retired listeners; call at the end of a reactor turn.
  void sweep();

  size_t connectionCount() const { return connections_.size(); }
  const reactor::OpScope& opScope() const { return scope_; }
  // Connections closed at once for being over maxConnections, since the start.
  uint64_t rejectedConnections() const { return rejectedConnections_; }
  // Connections closed for sending no complete request within requestTimeout (counted when
  // freed, in sweep()).
  uint64_t timedOutConnections() const { return timedOutConnections_; }
  // Request bytes held by all connections together.
  size_t bufferedRequestBytes() const;
  ino_t socketInode() const { return acceptor_ ? inode_ : 0; }
  const std::string& path() const { return path_; }

 private:
  void retireAcceptor();
  void accepted(UniqueFd fd);

  reactor::Reactor& reactor_;
  Service& service_;
  const ServerLimits limits_;
  reactor::OpScope scope_;
  std::string path_;
  std::unique_ptr<reactor::Acceptor> acceptor_;
  ino_t inode_ = 0;  // of the socket file acceptor_ listens on
  std::vector<std::unique_ptr<reactor::Acceptor>> retiredAcceptors_;
  std::vector<std::unique_ptr<ServerConnection>> connections_;
  uint64_t rejectedConnections_ = 0;
  uint64_t timedOutConnections_ = 0;
};

}  // namespace udp::grpc
