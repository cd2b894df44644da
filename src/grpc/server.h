#pragma once

// A gRPC server on one unix socket: accepts on the reactor and owns its connections.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "grpc/server_connection.h"
#include "grpc/service.h"
#include "reactor/reactor.h"
#include "util/result.h"

namespace udp::grpc {

class Server {
 public:
  Server(reactor::Reactor& reactor, Service& service);
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
  ino_t socketInode() const { return listener_ ? listener_->inode : 0; }
  const std::string& path() const { return path_; }

 private:
  struct Listener {
    explicit Listener(Server& server) : server(server) {}
    void onAccept(int res, uint32_t flags) noexcept;
    void onRetryTimer(int res, uint32_t flags) noexcept;
    void arm();

    Server& server;
    UniqueFd fd;
    ino_t inode = 0;
    bool retired = false;
    reactor::Op acceptOp{reactor::bindOp<&Listener::onAccept>(this)};
    reactor::Op retryOp{reactor::bindOp<&Listener::onRetryTimer>(this)};
  };

  void retire(std::unique_ptr<Listener> listener);

  reactor::Reactor& reactor_;
  Service& service_;
  std::string path_;
  std::unique_ptr<Listener> listener_;
  std::vector<std::unique_ptr<Listener>> retiredListeners_;
  std::vector<std::unique_ptr<ServerConnection>> connections_;
};

}  // namespace udp::grpc
