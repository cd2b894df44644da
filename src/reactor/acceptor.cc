#include "reactor/acceptor.h"

#include <errno.h>

namespace udp::reactor {
namespace {

constexpr auto kRetryAfter = std::chrono::milliseconds(100);

}  // namespace

Acceptor::Acceptor(Reactor& reactor, UniqueFd listenFd, OnAccepted onAccepted, OpScope* parent)
    : reactor_(reactor),
      fd_(std::move(listenFd)),
      onAccepted_(std::move(onAccepted)),
      scope_(parent) {}

void Acceptor::start() {
  arm();
}

void Acceptor::retire() {
  retired_ = true;
  reactor_.cancel(acceptOp_);
  reactor_.cancel(retryOp_);
}

void Acceptor::arm() {
  if (!retired_ && !acceptOp_.pending()) reactor_.accept(acceptOp_, fd_.get());
}

void Acceptor::onAccept(int res, uint32_t) noexcept {
  if (res >= 0) {
    UniqueFd connection(res);  // closed here when retired meanwhile
    if (!retired_) onAccepted_(std::move(connection));
  }
  if (retired_) return;
  switch (res) {
    case -ECONNABORTED:  // the peer gave up while queued; the listener is fine
    case -EINTR:
    case -EAGAIN:
    case -EPROTO:
    case -EPERM:  // refused by a firewall rule
      arm();
      return;
    default:
      if (res >= 0) {
        arm();
      } else {
        // EMFILE, ENFILE, ENOBUFS, ENOMEM, or a listener gone bad: do not spin on it.
        reactor_.timeout(retryOp_, kRetryAfter);
      }
  }
}

void Acceptor::onRetryTimer(int, uint32_t) noexcept {
  arm();
}

}  // namespace udp::reactor
