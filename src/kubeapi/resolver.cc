#include "kubeapi/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "util/unique_fd.h"

namespace udp::kubeapi {

struct Resolver::Lookup {
  UniqueFd event;  // written once by the thread when the answer is in
  std::string host;
  uint16_t port = 0;
  std::mutex mutex;  // the thread writes the answer, the loop reads it after the eventfd
  int status = 0;    // getaddrinfo's
  int savedErrno = 0;
  std::vector<SocketAddress> addresses;
};

std::string SocketAddress::text() const {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

std::optional<SocketAddress> literalAddress(std::string_view host, uint16_t port) {
  std::string text(host);
  SocketAddress out;
  auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

namespace {

// On the lookup's own thread: everything it touches is the Lookup, which it co-owns.
void runLookup(const std::shared_ptr<Resolver::Lookup>& lookup) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(lookup->port);
  int status = getaddrinfo(lookup->host.c_str(), port.c_str(), &hints, &found);
  int savedErrno = errno;
  std::vector<SocketAddress> addresses;
  for (addrinfo* a = status == 0 ? found : nullptr; a != nullptr; a = a->ai_next) {
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
        a->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    SocketAddress address;
    memcpy(&address.storage, a->ai_addr, a->ai_addrlen);
    address.length = a->ai_addrlen;
    addresses.push_back(address);
  }
  if (found != nullptr) freeaddrinfo(found);
  {
    std::lock_guard<std::mutex> lock(lookup->mutex);
    lookup->status = status;
    lookup->savedErrno = savedErrno;
    lookup->addresses = std::move(addresses);
  }
  uint64_t one = 1;
  ssize_t written = ::write(lookup->event.get(), &one, sizeof one);
  (void)written;  // an eventfd takes 8 bytes unless its count would overflow
}

}  // namespace

Resolver::Resolver(reactor::Reactor& reactor, reactor::OpScope* parent)
    : reactor_(reactor), scope_(parent) {}

Resolver::~Resolver() = default;

void Resolver::resolve(const std::string& host, uint16_t port, Done done) {
  auto lookup = std::make_shared<Lookup>();
  // Blocking on purpose: the reactor reads it only once it is ready (epoll) or lets io_uring
  // wait for it; a non-blocking eventfd read through io_uring can come back -EAGAIN.
  lookup->event = UniqueFd(eventfd(0, EFD_CLOEXEC));
  if (!lookup->event.valid()) abort();  // out of fds or memory: nothing sensible to do
  lookup->host = host;
  lookup->port = port;
  try {
    std::thread(runLookup, lookup).detach();
  } catch (const std::system_error& e) {
    // No thread (out of resources): the answer is the failure, delivered like any other.
    std::lock_guard<std::mutex> lock(lookup->mutex);
    lookup->status = EAI_SYSTEM;
    lookup->savedErrno = EAGAIN;
    uint64_t one = 1;
    (void)!::write(lookup->event.get(), &one, sizeof one);
  }
  lookup_ = std::move(lookup);
  done_ = std::move(done);
  // count_ belongs to readOp_ until it completes; lookup_ keeps the eventfd open as long.
  reactor_.read(readOp_, lookup_->event.get(), &count_, sizeof count_);
}

void Resolver::cancel() {
  done_ = nullptr;
  if (readOp_.pending()) reactor_.cancel(readOp_);
}

void Resolver::onRead(int res, uint32_t) noexcept {
  if (res == -EAGAIN || res == -EINTR) {
    if (done_) {
      reactor_.read(readOp_, lookup_->event.get(), &count_, sizeof count_);
      return;
    }
  }
  std::shared_ptr<Lookup> lookup = std::move(lookup_);
  Done done = std::move(done_);
  if (!done) return;  // cancelled
  if (res < 0) {
    done(makeError(res, "resolving " + lookup->host + ": " + strerror(-res)));
    return;
  }
  int status, savedErrno;
  std::vector<SocketAddress> addresses;
  {
    std::lock_guard<std::mutex> lock(lookup->mutex);
    status = lookup->status;
    savedErrno = lookup->savedErrno;
    addresses = std::move(lookup->addresses);
  }
  if (status != 0) {
    std::string why = status == EAI_SYSTEM ? strerror(savedErrno) : gai_strerror(status);
    done(makeError(-EHOSTUNREACH, "cannot resolve " + lookup->host + ": " + why));
  } else if (addresses.empty()) {
    done(makeError(-EHOSTUNREACH, "cannot resolve " + lookup->host + ": no IPv4 or IPv6 address"));
  } else {
    done(std::move(addresses));
  }
}

}  // namespace udp::kubeapi
