#pragma once

// Accepts connections on a listening socket for as long as it is not retired: the plugin's gRPC
// sockets and the metrics endpoint both take theirs from here. Out of fds or memory (EMFILE,
// ENFILE, ENOBUFS, ENOMEM), or on an error it does not know, it waits 100 ms rather than spin on
// the ready listener; connections already accepted keep being served meanwhile.

#include <functional>

#include "reactor/reactor.h"
#include "util/unique_fd.h"

namespace udp::reactor {

class Acceptor {
 public:
  using OnAccepted = std::function<void(UniqueFd connection)>;

  // `parent`: the owner's scope, which then counts this acceptor's ops too.
  Acceptor(Reactor& reactor, UniqueFd listenFd, OnAccepted onAccepted, OpScope* parent = nullptr);
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void start();
  // Stops accepting. Its ops may still be in flight: the owner frees it once idle(), at the end
  // of a reactor turn, and the listening fd closes then.
  void retire();
  bool idle() const { return scope_.idle(); }

 private:
  void arm();
  void onAccept(int res, uint32_t flags) noexcept;
  void onRetryTimer(int res, uint32_t flags) noexcept;

  Reactor& reactor_;
  UniqueFd fd_;
  OnAccepted onAccepted_;
  bool retired_ = false;
  OpScope scope_;
  Op acceptOp_{bindOp<&Acceptor::onAccept>(this, scope_)};
  Op retryOp_{bindOp<&Acceptor::onRetryTimer>(this, scope_)};
};

}  // namespace udp::reactor
