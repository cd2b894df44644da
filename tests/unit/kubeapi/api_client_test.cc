// The API client where no API server answers properly (the Go server's tests cover the rest):
// refused connections, a server that never finishes the handshake, a peer that is not TLS,
// stop(), unusable TLS material; and the resolver. On both reactor backends.

#include "kubeapi/api_client.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "kubeapi/resolver.h"
#include "test_pki.h"
#include "util/unique_fd.h"

using namespace udp;
using namespace udp::kubeapi;
using namespace std::chrono_literals;

namespace {

reactor::Backend backendUnderTest() {
  reactor::Backend backend = reactor::Backend::kIoUring;
  SUBCASE("io_uring") {
    backend = reactor::Backend::kIoUring;
  }
  SUBCASE("epoll") {
    backend = reactor::Backend::kEpoll;
  }
  return backend;
}

std::unique_ptr<reactor::Reactor> makeReactor(reactor::Backend backend) {
  auto created = reactor::Reactor::create(backend);
  REQUIRE(created.ok());
  return std::move(*created);
}

// A TCP socket on 127.0.0.1, listening or not; never accepts by itself.
struct LocalSocket {
  UniqueFd fd{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  int port = 0;
  explicit LocalSocket(bool listening) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    if (listening) REQUIRE(listen(fd.get(), 8) == 0);
  }
};

ClientConfig configFor(int port, const std::string& caPem) {
  ClientConfig config;
  config.host = "127.0.0.1";
  config.port = static_cast<uint16_t>(port);
  config.server = "https://127.0.0.1:" + std::to_string(port);
  config.caPem = caPem;
  config.origin = "test";
  return config;
}

struct Rig {
  std::unique_ptr<reactor::Reactor> reactor;
  std::unique_ptr<ApiClient> client;

  Rig(reactor::Backend backend, const ClientConfig& config, ApiClientOptions options = {})
      : reactor(makeReactor(backend)) {
    auto created = ApiClient::create(*reactor, config, std::move(options));
    REQUIRE(created.ok());
    client = std::move(*created);
  }
  ~Rig() {
    client->stop();
    CHECK(reactor->drain(2s));
    client->sweep();
    CHECK(client->idle());
  }
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      reactor->runOnce(10ms);
      client->sweep();
    }
    return true;
  }
  Response get(std::chrono::milliseconds deadline) {
    Request r;
    r.path = "/api";
    r.deadline = deadline;
    std::optional<Response> answer;
    client->request(r, [&](Response a) { answer = std::move(a); });
    CHECK_FALSE(answer.has_value());  // never inside the call
    REQUIRE(runUntil([&] { return answer.has_value(); }));
    return *answer;
  }
};

}  // namespace

TEST_CASE("refused: requests wait, reconnects back off, the deadline names the cause") {
  auto backend = backendUnderTest();
  udp::testing::TestPki pki;
  int port = LocalSocket(false).port;  // bound, not listening, then closed: refused
  Rig rig(backend, configFor(port, pki.ca().certPem), {.reconnect = {10ms, 40ms}});
  // Never connected: disconnected since its creation, however many attempts fail.
  auto since = rig.client->disconnectedSince();
  REQUIRE(since);
  rig.client->start();
  Response r = rig.get(300ms);
  CHECK(r.status == 0);
  std::string where = "127.0.0.1:" + std::to_string(port);
  CHECK(r.error == "no connection to https://" + where + " within 300 ms: connect " + where +
                       ": Connection refused");
  // 10, 20, 40, 40... ms apart (with jitter): a handful of attempts, not hundreds.
  CHECK(rig.client->errors() >= 4);
  CHECK(rig.client->errors() <= 40);
  CHECK_FALSE(rig.client->connected());
  CHECK(rig.client->disconnectedSince() == since);
}

TEST_CASE("a server that never answers the handshake: connectTimeout") {
  auto backend = backendUnderTest();
  udp::testing::TestPki pki;
  LocalSocket silent(true);  // the kernel completes the TCP handshake; nobody speaks TLS
  Rig rig(backend, configFor(silent.port, pki.ca().certPem),
          {.connectTimeout = 100ms, .reconnect = {1000ms, 1000ms}});
  rig.client->start();
  Response r = rig.get(600ms);
  CHECK(r.status == 0);
  CHECK(r.error.find(": connect 127.0.0.1:" + std::to_string(silent.port) +
                     ": no TLS handshake within 100 ms") != std::string::npos);
}

TEST_CASE("a peer that does not speak TLS") {
  auto backend = backendUnderTest();
  udp::testing::TestPki pki;
  LocalSocket plain(true);
  std::thread peer([&] {
    int fd = accept(plain.fd.get(), nullptr, nullptr);
    if (fd < 0) return;
    const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)!write(fd, reply, sizeof reply - 1);
    char buf[512];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
  });
  {
    Rig rig(backend, configFor(plain.port, pki.ca().certPem), {.reconnect = {5000ms, 5000ms}});
    rig.client->start();
    REQUIRE(rig.runUntil([&] { return !rig.client->lastError().empty(); }));
    CHECK(rig.client->lastError().find("TLS handshake with 127.0.0.1 failed: ") == 0);
    CHECK(rig.client->errors() == 1);
  }
  peer.join();
}

TEST_CASE("stop(): answers every request with 'stopped', from the next turn for later ones") {
  auto backend = backendUnderTest();
  udp::testing::TestPki pki;
  LocalSocket silent(true);
  Rig rig(backend, configFor(silent.port, pki.ca().certPem));
  rig.client->start();
  std::vector<std::string> errors;
  rig.client->request("GET", "/a", "", [&](Response r) { errors.push_back(r.error); });
  rig.client->watch(
      "/w?watch=true", [](std::string_view) {}, [&](Response r) { errors.push_back(r.error); });
  rig.client->stop();
  CHECK(errors == std::vector<std::string>{"stopped", "stopped"});
  rig.client->request("GET", "/b", "", [&](Response r) { errors.push_back(r.error); });
  CHECK(errors.size() == 2);
  REQUIRE(rig.runUntil([&] { return errors.size() == 3 && rig.client->idle(); }));
  CHECK(errors.back() == "stopped");
}

TEST_CASE("create() refuses unusable TLS material, naming where it came from") {
  auto reactor = makeReactor(reactor::Backend::kEpoll);
  ClientConfig config = configFor(443, "not PEM");
  config.origin = "kubeconfig /k (context c)";
  auto created = ApiClient::create(*reactor, config);
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().message.find("kubeconfig /k (context c): the CA data holds no") == 0);
}

TEST_CASE("addresses: literals need no lookup") {
  auto v4 = literalAddress("10.96.0.1", 443);
  REQUIRE(v4.has_value());
  CHECK(v4->family() == AF_INET);
  CHECK(v4->text() == "10.96.0.1:443");
  auto v6 = literalAddress("fd00::1", 6443);
  REQUIRE(v6.has_value());
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->text() == "[fd00::1]:6443");
  CHECK_FALSE(literalAddress("localhost", 1).has_value());
  CHECK_FALSE(literalAddress("[::1]", 1).has_value());
  CHECK_FALSE(literalAddress("", 1).has_value());
}

TEST_CASE("resolver: a name off the loop, the answer from a completion; cancel") {
  auto reactor = makeReactor(backendUnderTest());
  Resolver resolver(*reactor);
  std::optional<Result<std::vector<SocketAddress>>> answer;
  resolver.resolve("localhost", 8443,
                   [&](Result<std::vector<SocketAddress>> r) { answer = std::move(r); });
  CHECK(resolver.busy());
  CHECK_FALSE(answer.has_value());
  for (int i = 0; i < 500 && !answer; ++i) reactor->runOnce(10ms);
  REQUIRE(answer.has_value());
  REQUIRE(answer->ok());
  REQUIRE_FALSE((*answer)->empty());
  for (const SocketAddress& a : **answer) {
    CHECK((a.text() == "127.0.0.1:8443" || a.text() == "[::1]:8443"));
  }

  bool called = false;
  resolver.resolve("localhost", 1, [&](auto) { called = true; });
  resolver.cancel();
  for (int i = 0; i < 500 && resolver.busy(); ++i) reactor->runOnce(10ms);
  CHECK_FALSE(resolver.busy());
  CHECK_FALSE(called);
}
