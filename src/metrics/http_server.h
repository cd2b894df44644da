#pragma once

// The metrics and health endpoints' HTTP/1.1 server on the reactor (DESIGN.md §4): one listener
// (TCP or a unix socket) and its connections. What is served is the handler's business.

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/http_connection.h"
#include "metrics/http_response.h"
#include "metrics/listen_address.h"
#include "reactor/acceptor.h"
#include "reactor/reactor.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::metrics {

class HttpServer {
 public:
  HttpServer(reactor::Reactor& reactor, HttpHandler handler, HttpLimits limits = {});
  // Removes our unix socket file. Ops must not be in flight: stop(), then run the reactor and
  // sweep() until connectionCount() is 0, or destroy the reactor without running it again.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `127.0.0.1:PORT`, `[::1]:PORT`, `HOST:0` (ephemeral, see boundAddress()) or `unix:/PATH`
  // (mode 0600; a stale socket there is replaced, any other file is not). A previous listener
  // is retired; accepted connections are kept.
  Result<void> listen(std::string_view address);
  // Stops accepting (removing our unix socket file); each connection closes after the answers
  // to what it has already read.
  void stop();
  // Frees closed connections and retired listeners; call at the end of a reactor turn.
  void sweep();

  size_t connectionCount() const { return connections_.size(); }
  // Where we listen, with the port the kernel chose; empty when not listening.
  std::string boundAddress() const;

 private:
  struct Listener {
    std::unique_ptr<reactor::Acceptor> acceptor;
    std::string unixPath;  // and its inode, to remove only our own file
    ino_t inode = 0;
  };

  void retire(std::unique_ptr<Listener> listener);
  void accepted(bool tcp, UniqueFd fd);

  reactor::Reactor& reactor_;
  HttpHandler handler_;  // connections borrow it and limits_: the server outlives them
  HttpLimits limits_;
  ListenAddress bound_;
  std::unique_ptr<Listener> listener_;
  std::vector<std::unique_ptr<Listener>> retiredListeners_;
  std::vector<std::unique_ptr<HttpConnection>> connections_;
};

}  // namespace udp::metrics
