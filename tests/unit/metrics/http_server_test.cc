// The metrics HTTP server over real sockets (TCP and unix), spoken to with plain blocking
// sockets from the test while the reactor is stepped one turn at a time.

#include "metrics/http_server.h"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "http_test_client.h"
#include "metrics/endpoints.h"
#include "metrics/metrics.h"

using namespace udp::metrics;
using namespace udp::metrics::testing;
using namespace std::chrono_literals;

TEST_CASE("GET, HEAD and keep-alive over TCP on an ephemeral port") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  CHECK(h.server->boundAddress().starts_with("127.0.0.1:"));
  REQUIRE(h.port() > 0);
  auto c = connectTcp(h.port());

  c->send(kGetHello);
  auto first = await(h, *c, 1);
  CHECK(first[0].status == 200);
  CHECK(first[0].headers["content-type"] == "text/plain");
  CHECK(first[0].headers["content-length"] == "6");
  CHECK(first[0].headers.count("date") == 1);
  CHECK(first[0].headers.count("connection") == 0);
  CHECK(first[0].body == "hello\n");
  CHECK(staysOpen(h, *c));
  CHECK(h.server->connectionCount() == 1);

  // The same connection: HEAD has the GET's headers and no body, then a GET follows cleanly.
  c->received.clear();
  c->send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto head = await(h, *c, 1, {true});
  CHECK(head[0].status == 200);
  CHECK(head[0].headers["content-length"] == "6");
  CHECK(c->received.ends_with("\r\n\r\n"));
  c->send(kGetHello);
  auto again = await(h, *c, 2, {true, false});
  CHECK(again[1].body == "hello\n");
  CHECK(h.server->connectionCount() == 1);
}

TEST_CASE("pipelined requests are answered in order") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  auto c = connectTcp(h.port());
  c->send(kGetHello + "GET /missing HTTP/1.1\r\nHost: t\r\n\r\nHEAD /hello HTTP/1.1\r\nHost: t" +
          "\r\n\r\n" + kGetHello);
  auto got = await(h, *c, 4, {false, false, true, false});
  CHECK(got[0].status == 200);
  CHECK(got[1].status == 404);
  CHECK(got[2].status == 200);
  CHECK(got[2].body.empty());
  CHECK(got[3].body == "hello\n");
  CHECK(staysOpen(h, *c));
}

TEST_CASE("pipelined large answers wait for the reader (bounded send buffer)") {
  HttpLimits limits;
  limits.maxQueuedBytes = 64 * 1024;
  Harness h(limits);
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  auto c = connectTcp(h.port());
  std::string requests;
  for (int i = 0; i < 8; ++i) requests += "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
  c->send(requests + "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto got = await(h, *c, 9);
  for (int i = 0; i < 8; ++i) CHECK(got[static_cast<size_t>(i)].body.size() == size_t{1} << 20);
  CHECK(got[8].body == "hello\n");
  CHECK(got[8].headers["connection"] == "close");
  CHECK(awaitEof(h, *c));
}

TEST_CASE("methods other than GET and HEAD are 405 with Allow; the connection stays") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  auto c = connectTcp(h.port());
  c->send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  c->send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto got = await(h, *c, 2);
  CHECK(got[0].status == 405);
  CHECK(got[0].headers["allow"] == "GET, HEAD");
  CHECK(got[1].status == 405);
  CHECK(staysOpen(h, *c));
}

TEST_CASE("bad requests are answered, then the connection closes") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  struct Case {
    const char* name;
    std::string request;
    int status;
  };
  std::vector<Case> cases = {
      {"oversized head", "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(9000, 'x') + "\r\n\r\n",
       431},
      {"a body", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 413},
      {"a chunked body",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 413},
      {"a malformed request line", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      // A request answered before the bad one still gets its answer, in order.
      {"after a good one", kGetHello + "BAD\r\n\r\n", 400},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    auto c = connectTcp(h.port());
    c->send(k.request);
    REQUIRE(awaitEof(h, *c));
    auto got = responses(c->received);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().status == k.status);
    CHECK(got.back().headers["connection"] == "close");
  }
  CHECK(h.stepUntil([&] { return h.server->connectionCount() == 0; }));
}

TEST_CASE("Connection: close, HTTP/1.0, and a half-closed client") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());

  auto closing = connectTcp(h.port());
  closing->send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + kGetHello);
  REQUIRE(awaitEof(h, *closing));
  auto got = responses(closing->received);
  REQUIRE(got.size() == 1);  // nothing is read after the close
  CHECK(got[0].headers["connection"] == "close");

  auto old = connectTcp(h.port());
  old->send("GET /hello HTTP/1.0\r\n\r\n");
  REQUIRE(awaitEof(h, *old));
  CHECK(responses(old->received).size() == 1);

  auto oldKeepAlive = connectTcp(h.port());
  oldKeepAlive->send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto kept = await(h, *oldKeepAlive, 1);
  CHECK(kept[0].headers["connection"] == "keep-alive");
  CHECK(staysOpen(h, *oldKeepAlive));

  auto halfClosed = connectTcp(h.port());
  halfClosed->send(kGetHello + kGetHello);
  ::shutdown(halfClosed->fd, SHUT_WR);
  REQUIRE(awaitEof(h, *halfClosed));
  CHECK(responses(halfClosed->received).size() == 2);
}

TEST_CASE("at most maxConnections at once; further accepts are closed at once") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 64; ++i) clients.push_back(connectTcp(h.port()));
  REQUIRE(h.stepUntil([&] { return h.server->connectionCount() == 64; }));

  auto refused = connectTcp(h.port());
  CHECK(awaitEof(h, *refused));
  CHECK(refused->received.empty());
  CHECK(h.server->connectionCount() == 64);

  clients[5]->send(kGetHello);
  CHECK(await(h, *clients[5], 1)[0].status == 200);

  clients[0].reset();  // one leaves: room for one more
  REQUIRE(h.stepUntil([&] { return h.server->connectionCount() == 63; }));
  auto late = connectTcp(h.port());
  late->send(kGetHello);
  CHECK(await(h, *late, 1)[0].status == 200);
}

TEST_CASE("out of fds, accept pauses and retries instead of spinning") {
  Harness h;
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  auto c = connectTcp(h.port());
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(c->fd) + 1;  // no fd above the client's can be made
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) h.reactor->runOnce(20ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  // A spinning accept would complete at once every turn; a paused one lets the turns wait.
  CHECK(elapsed >= 60ms);
  CHECK(h.server->connectionCount() == 0);

  c->send(kGetHello);
  CHECK(await(h, *c, 1)[0].status == 200);
}

TEST_CASE("idle connections are closed after the idle timeout") {
  HttpLimits limits;
  limits.idleTimeout = 150ms;
  Harness h(limits);
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  auto idle = connectTcp(h.port());
  auto busy = connectTcp(h.port());
  auto start = std::chrono::steady_clock::now();
  // `busy` keeps asking; each answer moves its deadline.
  for (int i = 0; i < 4; ++i) {
    busy->received.clear();
    busy->send(kGetHello);
    await(h, *busy, 1);
    h.stepUntil([] { return false; }, 60ms);
  }
  REQUIRE(awaitEof(h, *idle));
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
  busy->poll();
  CHECK_FALSE(busy->eof);
  CHECK(awaitEof(h, *busy));
  CHECK(h.stepUntil([&] { return h.server->connectionCount() == 0; }));
}

TEST_CASE("a unix socket: mode 0600, stale socket replaced, other files refused, removed") {
  char dirTemplate[] = "/tmp/udp-metrics-XXXXXX";
  REQUIRE(mkdtemp(dirTemplate) != nullptr);
  const std::string dir = dirTemplate;
  const std::string path = dir + "/metrics.sock";
  {
    Harness h;
    // A stale socket left by a dead process: bound, never removed.
    int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(stale, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(stale);

    REQUIRE(h.server->listen("unix:" + path).ok());
    CHECK(h.server->boundAddress() == "unix:" + path);
    struct stat st;
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);

    auto c = connectUnix(path);
    c->send(kGetHello);
    CHECK(await(h, *c, 1)[0].body == "hello\n");

    h.server->stop();
    CHECK(::access(path.c_str(), F_OK) != 0);
    CHECK(h.server->boundAddress().empty());
    CHECK(awaitEof(h, *c));
  }
  {
    const std::string file = dir + "/regular";
    FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
    Harness h;
    auto result = h.server->listen("unix:" + file);
    CHECK_FALSE(result.ok());
    CHECK(::access(file.c_str(), F_OK) == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("listen errors") {
  Harness h;
  CHECK_FALSE(h.server->listen("nonsense").ok());
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  Harness other;
  auto taken = other.server->listen(h.server->boundAddress());
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().code == -EADDRINUSE);
  CHECK(taken.error().message.find("bind 127.0.0.1:") != std::string::npos);
}

TEST_CASE("IPv6 loopback, when the host has it") {
  Harness h;
  auto listened = h.server->listen("[::1]:0");
  if (!listened.ok()) {
    MESSAGE("no IPv6 loopback here: " << listened.error().message);
    return;
  }
  CHECK(h.server->boundAddress().starts_with("[::1]:"));
}

TEST_CASE("the endpoints through the server") {
  Metrics metrics("0.1.0", "test");
  metrics.setDevices("example.com/a", 1, 0);
  Harness h({}, makeEndpointHandler(metrics));
  REQUIRE(h.server->listen("127.0.0.1:0").ok());
  auto c = connectTcp(h.port());
  c->send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  auto got = await(h, *c, 2);
  CHECK(got[0].headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(got[0].body == metrics.renderPrometheus());
  CHECK(got[1].body == "ok\n");
}
