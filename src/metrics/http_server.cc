#include "metrics/http_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>

#include "util/unix_socket.h"

namespace udp::metrics {
namespace {

Error socketError(int err, const std::string& what) {
  return makeError(-err, what + ": " + strerror(err));
}

// Binds and listens on a numeric address; fills in the port the kernel chose for port 0.
Result<UniqueFd> listenTcp(ListenAddress& address) {
  const bool v6 = address.kind == ListenAddress::Kind::kIpv6;
  const std::string text = formatListenAddress(address);
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return socketError(errno, "socket for " + text);
  // A restarted daemon must be able to bind while its old connections sit in TIME_WAIT.
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return socketError(errno, "SO_REUSEADDR on " + text);
  }
  sockaddr_storage storage{};
  socklen_t len;
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(address.port);
    memcpy(&sin6->sin6_addr, address.ip.data(), 16);
    len = sizeof *sin6;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(address.port);
    memcpy(&sin->sin_addr, address.ip.data(), 4);
    len = sizeof *sin;
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), len) != 0) {
    return socketError(errno, "bind " + text);
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) return socketError(errno, "listen " + text);
  len = sizeof storage;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    return socketError(errno, "getsockname " + text);
  }
  address.port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  return fd;
}

}  // namespace

HttpServer::HttpServer(reactor::Reactor& reactor, HttpHandler handler, HttpLimits limits)
    : reactor_(reactor), handler_(std::move(handler)), limits_(limits) {}

HttpServer::~HttpServer() {
  if (listener_ && !listener_->unixPath.empty() &&
      socketInodeAt(listener_->unixPath) == listener_->inode) {
    ::unlink(listener_->unixPath.c_str());
  }
}

Result<void> HttpServer::listen(std::string_view text) {
  auto address = parseListenAddress(text);
  if (!address) return address.error();
  auto listener = std::make_unique<Listener>();
  UniqueFd fd;
  const bool tcp = address->kind != ListenAddress::Kind::kUnix;
  if (!tcp) {
    auto socket = listenUnix(address->path);
    if (!socket) return socket.error();
    fd = std::move(socket->fd);
    listener->inode = socket->inode;
    listener->unixPath = address->path;
  } else {
    auto bound = listenTcp(*address);
    if (!bound) return bound.error();
    fd = std::move(*bound);
  }
  listener->acceptor = std::make_unique<reactor::Acceptor>(
      reactor_, std::move(fd),
      [this, tcp](UniqueFd connection) { accepted(tcp, std::move(connection)); });
  if (listener_) retire(std::move(listener_));
  bound_ = std::move(*address);
  listener_ = std::move(listener);
  listener_->acceptor->start();
  return {};
}

std::string HttpServer::boundAddress() const {
  return listener_ ? formatListenAddress(bound_) : std::string();
}

void HttpServer::stop() {
  if (listener_) retire(std::move(listener_));
  for (auto& connection : connections_) connection->closeAfterResponses();
}

void HttpServer::retire(std::unique_ptr<Listener> listener) {
  listener->acceptor->retire();
  // A file someone put in its place since is not ours to remove.
  if (!listener->unixPath.empty() && socketInodeAt(listener->unixPath) == listener->inode) {
    ::unlink(listener->unixPath.c_str());
  }
  retiredListeners_.push_back(std::move(listener));
}

void HttpServer::sweep() {
  std::erase_if(connections_, [](const auto& c) { return c->finished(); });
  std::erase_if(retiredListeners_, [](const auto& l) { return l->acceptor->idle(); });
}

void HttpServer::accepted(bool tcp, UniqueFd fd) {
  size_t open = static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                                  [](const auto& c) { return !c->closing(); }));
  // Over the cap the fd closes here: the peer sees its connection end at once, and what a
  // client can hold of ours stays bounded.
  if (open >= limits_.maxConnections) return;
  if (tcp) {
    // Answers are written whole; Nagle would only delay a pipelined second answer.
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto connection = std::make_unique<HttpConnection>(reactor_, std::move(fd), handler_, limits_);
  connection->start();
  connections_.push_back(std::move(connection));
}

}  // namespace udp::metrics
