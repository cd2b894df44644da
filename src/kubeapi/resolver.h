#pragma once

// Host name → socket addresses without blocking the loop. An IP literal (what in-cluster configs
// and most kubeconfigs hold) is answered at once, without any lookup. A name goes to getaddrinfo
// on a thread of its own, since glibc's resolver blocks (DNS, /etc/hosts, NSS modules); the
// thread hands the answer back through an eventfd that the reactor reads, so the loop only ever
// sees a completion. The thread shares nothing with us but the Lookup it holds a reference to;
// a lookup given up on finishes on its own and frees it.

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/reactor.h"
#include "util/result.h"

namespace udp::kubeapi {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  // "127.0.0.1:6443", "[::1]:6443".
  std::string text() const;
};

// The address when `host` is an IPv4 or IPv6 literal (no brackets), else nullopt.
std::optional<SocketAddress> literalAddress(std::string_view host, uint16_t port);

class Resolver {
 public:
  using Done = std::function<void(Result<std::vector<SocketAddress>>)>;

  explicit Resolver(reactor::Reactor& reactor, reactor::OpScope* parent = nullptr);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // One lookup at a time. `done` runs once from a completion (never inside this call), unless
  // cancel() comes first.
  void resolve(const std::string& host, uint16_t port, Done done);
  void cancel();
  bool busy() const { return readOp_.pending(); }

  struct Lookup;  // one lookup's state, shared with its thread

 private:
  void onRead(int res, uint32_t flags) noexcept;

  reactor::Reactor& reactor_;
  reactor::OpScope scope_;
  std::shared_ptr<Lookup> lookup_;  // until readOp_ completes: its eventfd is the op's fd
  uint64_t count_ = 0;              // written by the kernel while readOp_ is pending
  Done done_;
  reactor::Op readOp_{reactor::bindOp<&Resolver::onRead>(this, scope_)};
};

}  // namespace udp::kubeapi
