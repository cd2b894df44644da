// The Kubernetes API client (src/kubeapi) against Go's TLS and HTTP/2 server
// (tests/support/kubeapi-server), on the reactor backend UDP_TEST_REACTOR names: the handshake
// and certificate checks, both ways to authenticate, the verbs and their errors, watches split
// across frames, a server that restarts, goes away or stays away, and many requests at once.
// Without Go the binary exits 77 (SKIP).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "kubeapi/api_client.h"
#include "kubeapi/client_config.h"
#include "kubeapi_server_process.h"
#include "reactor/reactor.h"

using namespace udp;
using namespace udp::kubeapi;
using namespace std::chrono_literals;
using udp::testing::KubeApiServer;
using udp::testing::TempDir;

namespace {

reactor::Backend backendUnderTest() {
  const char* name = getenv("UDP_TEST_REACTOR");
  auto backend = reactor::parseBackend(name != nullptr ? name : "auto");
  return backend.value_or(reactor::Backend::kAuto);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A reactor, an API client on it, and the loop run until something is true.
struct Rig {
  std::unique_ptr<reactor::Reactor> reactor;
  std::unique_ptr<ApiClient> client;

  Rig() {
    auto created = reactor::Reactor::create(backendUnderTest());
    REQUIRE(created.ok());
    reactor = std::move(*created);
  }
  ~Rig() { shutdown(); }

  void connect(const ClientConfig& config, ApiClientOptions options = {}) {
    auto created = ApiClient::create(*reactor, config, std::move(options));
    REQUIRE_MESSAGE(created.ok(), (created.ok() ? "" : created.error().message));
    client = std::move(*created);
    client->start();
  }
  void connect(const std::string& kubeconfig, ApiClientOptions options = {}) {
    auto config = loadKubeconfig(kubeconfig);
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
    connect(*config, std::move(options));
  }

  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 15s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      reactor->runOnce(20ms);
      if (client) client->sweep();
    }
    return true;
  }

  Response call(Request request) {
    std::optional<Response> answer;
    client->request(std::move(request), [&](Response r) { answer = std::move(r); });
    REQUIRE(runUntil([&] { return answer.has_value(); }, 40s));
    return *answer;
  }
  Response call(const std::string& method, const std::string& path, const std::string& body = "") {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    return call(std::move(r));
  }

  void shutdown() {
    if (!client) return;
    client->stop();
    CHECK(reactor->drain(5s));
    client->sweep();
    CHECK(client->idle());
    client.reset();
  }
};

std::string thing(const std::string& name, const std::string& resourceVersion = "") {
  std::string meta = "\"name\":\"" + name + "\"";
  if (!resourceVersion.empty()) meta += ",\"resourceVersion\":\"" + resourceVersion + "\"";
  return "{\"apiVersion\":\"test.example.com/v1\",\"kind\":\"Thing\",\"metadata\":{" + meta +
         "},\"spec\":{\"n\":1}}";
}

// The value of "resourceVersion" in a JSON text; enough for these tests' objects.
std::string resourceVersionOf(const std::string& json) {
  std::string key = "\"resourceVersion\":\"";
  size_t at = json.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return json.substr(at, json.find('"', at) - at);
}

constexpr const char* kThings = "/apis/test.example.com/v1/namespaces/default/things";

}  // namespace

TEST_CASE("client certificate over TLS: GET, POST, PUT, DELETE; 404 and 409 as statuses") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  auto started = std::chrono::steady_clock::now();
  rig.connect(server.file("kubeconfig-cert"));
  Response echo = rig.call("GET", "/echo");
  auto firstAnswer = std::chrono::steady_clock::now() - started;
  CHECK(rig.client->connected());
  REQUIRE_MESSAGE(echo.status == 200, echo.error);
  CHECK(contains(echo.body, "\"proto\":\"HTTP/2.0\""));
  CHECK(contains(echo.body, "\"clientCert\":true"));
  CHECK(contains(echo.body, "\"bearer\":false"));
  CHECK(contains(echo.body, "\"accept\":\"application/json\""));
  CHECK(contains(echo.body, "\"userAgent\":\"udev-device-plugin\""));
  CHECK(contains(echo.body, "\"host\":\"127.0.0.1:" + std::to_string(server.port()) + "\""));
  std::printf("TLS handshake + first request (%s): %.2f ms\n",
              std::string(reactor::backendName(rig.reactor->backend())).c_str(),
              std::chrono::duration<double, std::milli>(firstAnswer).count());

  Response created = rig.call("POST", kThings, thing("a"));
  CHECK(created.status == 201);
  std::string rv = resourceVersionOf(created.body);
  CHECK_FALSE(rv.empty());

  Response again = rig.call("POST", kThings, thing("a"));
  CHECK(again.status == 409);
  CHECK(contains(again.body, "\"reason\":\"AlreadyExists\""));

  Response got = rig.call("GET", std::string(kThings) + "/a");
  CHECK(got.status == 200);
  CHECK(resourceVersionOf(got.body) == rv);

  Response stale = rig.call("PUT", std::string(kThings) + "/a", thing("a", "0"));
  CHECK(stale.status == 409);
  CHECK(contains(stale.body, "\"reason\":\"Conflict\""));
  CHECK(stale.error.empty());

  Response updated = rig.call("PUT", std::string(kThings) + "/a", thing("a", rv));
  CHECK(updated.status == 200);
  CHECK(resourceVersionOf(updated.body) != rv);

  Response list = rig.call("GET", kThings);
  CHECK(list.status == 200);
  CHECK(contains(list.body, "\"items\":[{"));

  CHECK(rig.call("DELETE", std::string(kThings) + "/a").status == 200);
  Response gone = rig.call("GET", std::string(kThings) + "/a");
  CHECK(gone.status == 404);
  CHECK(contains(gone.body, "\"reason\":\"NotFound\""));
  CHECK(rig.client->connects() == 1);
  CHECK(rig.client->errors() == 0);
}

TEST_CASE("handshake + first request latency, fresh clients") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  auto config = loadKubeconfig(server.file("kubeconfig-cert"));
  REQUIRE(config.ok());
  std::vector<double> firsts, warms;
  for (int i = 0; i < 10; ++i) {
    Rig rig;
    auto t0 = std::chrono::steady_clock::now();
    rig.connect(*config);
    REQUIRE(rig.call("GET", "/echo").status == 200);
    auto t1 = std::chrono::steady_clock::now();
    REQUIRE(rig.call("GET", "/echo").status == 200);
    auto t2 = std::chrono::steady_clock::now();
    firsts.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    warms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::sort(firsts.begin(), firsts.end());
  std::sort(warms.begin(), warms.end());
  std::printf("connect + TLS + first GET: min %.2f ms, median %.2f ms; next GET: median %.2f ms\n",
              firsts.front(), firsts[firsts.size() / 2], warms[warms.size() / 2]);
}

TEST_CASE("bearer token from a tokenFile; after it rotates, a 401 reads it again") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-token"));
  Response echo = rig.call("GET", "/echo");
  REQUIRE_MESSAGE(echo.status == 200, echo.error);
  CHECK(contains(echo.body, "\"bearer\":true"));
  CHECK(contains(echo.body, "\"clientCert\":false"));

  // Rotated the kubelet's way; the client still holds the old token (it looks every 5 s).
  std::ofstream(server.file("token.new")) << "rotated-token\n";
  REQUIRE(rename(server.file("token.new").c_str(), server.file("token").c_str()) == 0);
  int before = server.requests();
  Response after = rig.call("GET", "/echo");
  CHECK(after.status == 200);
  CHECK(server.requests() - before == 2);  // the 401, then the retry with the new token

  SUBCASE("a token the server does not take is a 401 for the caller") {
    std::ofstream(server.file("token")) << "something-else\n";
    ClientConfig config = *loadKubeconfig(server.file("kubeconfig-token"));
    config.tokenFile.clear();
    config.token = "wrong";
    Rig other;
    other.connect(config);
    Response denied = other.call("GET", "/echo");
    CHECK(denied.status == 401);
    CHECK(contains(denied.body, "\"reason\":\"Unauthorized\""));
  }
}

TEST_CASE("a server certificate from another CA: a clear error, and no request sent") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  auto config = loadKubeconfig(server.file("kubeconfig-cert"));
  REQUIRE(config.ok());
  config->caPem = readFile(server.file("other-ca.crt"));
  Rig rig;
  rig.connect(*config);
  Request r;
  r.path = "/echo";
  r.deadline = 1500ms;
  Response answer = rig.call(r);
  CHECK(answer.status == 0);
  CHECK(contains(answer.error, "no connection to https://127.0.0.1:" +
                                   std::to_string(server.port()) + " within 1500 ms: "));
  CHECK(contains(answer.error,
                 "TLS handshake with 127.0.0.1 failed: certificate verify failed: "
                 "unable to get local issuer certificate"));
  CHECK(contains(rig.client->lastError(), "certificate verify failed"));
  CHECK_FALSE(rig.client->connected());
  CHECK(rig.client->errors() >= 2);  // the handshake (and its retries), the request
  CHECK(server.requests() == 0);
}

TEST_CASE("a watch hands out whole lines however the DATA frames split them") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"));
  std::vector<std::string> lines;
  std::optional<Response> end;
  rig.client->watch(
      std::string(kThings) + "?watch=true&split=1",
      [&](std::string_view line) { lines.emplace_back(line); },
      [&](Response r) { end = std::move(r); });
  REQUIRE(rig.runUntil([&] { return lines.size() >= 2; }));
  CHECK(lines[0] ==
        R"({"type":"ADDED","object":{"metadata":{"name":"split","resourceVersion":"0"}}})");
  CHECK(lines[1].size() > 100000);
  CHECK(lines[1].back() == '}');

  // Events from other requests on the same connection.
  CHECK(rig.call("POST", kThings, thing("w")).status == 201);
  REQUIRE(rig.runUntil([&] { return lines.size() >= 3; }));
  CHECK(contains(lines[2], "\"type\":\"ADDED\""));
  CHECK(contains(lines[2], "\"name\":\"w\""));
  CHECK(rig.call("DELETE", std::string(kThings) + "/w").status == 200);
  REQUIRE(rig.runUntil([&] { return lines.size() >= 4; }));
  CHECK(contains(lines[3], "\"type\":\"DELETED\""));
  CHECK_FALSE(end.has_value());

  // The API server ends watches now and then: onEnd, and the caller watches again.
  CHECK(server.command("close-watches") == "OK");
  REQUIRE(rig.runUntil([&] { return end.has_value(); }));
  CHECK(end->status == 200);
  CHECK(end->error.empty());
  CHECK(lines.size() == 4);
}

TEST_CASE("a watch cancelled from its own callback, and a request cancelled in flight") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"));
  int lines = 0;
  bool ended = false;
  CallHandle handle;
  handle = rig.client->watch(
      std::string(kThings) + "?watch=true&split=1",
      [&](std::string_view) {
        ++lines;
        rig.client->cancel(handle);
      },
      [&](Response) { ended = true; });
  bool slowAnswered = false;
  CallHandle slow =
      rig.client->request("GET", "/slow?ms=5000", "", [&](Response) { slowAnswered = true; });
  REQUIRE(rig.runUntil([&] { return lines == 1; }));
  rig.client->cancel(slow);
  CHECK(rig.call("GET", "/echo").status == 200);  // the connection is still fine
  CHECK(rig.client->inFlight() == 0);
  CHECK(lines == 1);
  CHECK_FALSE(ended);
  CHECK_FALSE(slowAnswered);
}

TEST_CASE("the server goes away and comes back: requests wait for it; or time out clearly") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"), {.reconnect = {20ms, 200ms}});
  REQUIRE(rig.call("GET", "/echo").status == 200);
  CHECK_FALSE(rig.client->disconnectedSince());

  auto stoppedAt = std::chrono::steady_clock::now();
  CHECK(server.command("stop") == "OK");
  REQUIRE(rig.runUntil([&] { return !rig.client->connected(); }));
  // The outage starts when the connection is lost; failed reconnects do not move it.
  auto since = rig.client->disconnectedSince();
  REQUIRE(since);
  CHECK(*since >= stoppedAt);

  SUBCASE("a request made meanwhile is answered once the server is back") {
    std::optional<Response> answer;
    rig.client->request("GET", "/echo", "", [&](Response r) { answer = std::move(r); });
    // A few reconnects fail meanwhile.
    uint64_t errors = rig.client->errors();
    REQUIRE(rig.runUntil([&] { return rig.client->errors() >= errors + 3; }));
    CHECK_FALSE(answer.has_value());
    CHECK(contains(rig.client->lastError(), "Connection refused"));
    CHECK(rig.client->disconnectedSince() == since);
    CHECK(server.command("start") == "OK");
    REQUIRE(rig.runUntil([&] { return answer.has_value(); }));
    CHECK(answer->status == 200);
    CHECK(rig.client->connected());
    CHECK_FALSE(rig.client->disconnectedSince());
    CHECK(rig.client->connects() == 2);
    CHECK(rig.client->lastError().empty());
  }
  SUBCASE("or ends at its deadline with the reason") {
    Request r;
    r.path = "/echo";
    r.deadline = 300ms;
    Response answer = rig.call(r);
    CHECK(answer.status == 0);
    CHECK(answer.error == "no connection to https://127.0.0.1:" + std::to_string(server.port()) +
                              " within 300 ms: connect 127.0.0.1:" + std::to_string(server.port()) +
                              ": Connection refused");
  }
}

TEST_CASE("a request in flight when the connection drops: GET is sent again, POST fails") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"), {.reconnect = {20ms, 200ms}});
  REQUIRE(rig.call("GET", "/echo").status == 200);
  std::optional<Response> get, post;
  int base = server.requests();
  rig.client->request("GET", "/slow?ms=3000", "", [&](Response r) { get = std::move(r); });
  rig.client->request("POST", "/slow?ms=3000", "{}", [&](Response r) { post = std::move(r); });
  // Both are at the server before it goes.
  REQUIRE(rig.runUntil([&] { return server.requests() >= base + 2; }));
  CHECK(server.command("stop") == "OK");
  REQUIRE(rig.runUntil([&] { return post.has_value(); }));
  CHECK(post->status == 0);
  CHECK(contains(post->error, "lost"));
  CHECK_FALSE(get.has_value());
  CHECK(server.command("start") == "OK");
  REQUIRE(rig.runUntil([&] { return get.has_value(); }));
  CHECK(get->status == 200);
}

TEST_CASE("GOAWAY: the stream in flight finishes there, new ones go to a new connection") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"), {.reconnect = {20ms, 200ms}});
  REQUIRE(rig.call("GET", "/echo").status == 200);
  std::optional<Response> slow;
  int base = server.requests();
  rig.client->request("GET", "/slow?ms=1000", "", [&](Response r) { slow = std::move(r); });
  REQUIRE(rig.runUntil([&] { return server.requests() >= base + 1; }));
  CHECK(server.command("goaway") == "OK");
  REQUIRE(rig.runUntil([&] { return rig.client->connects() == 2; }));
  CHECK_FALSE(rig.client->disconnectedSince());
  Response fresh = rig.call("GET", "/echo");
  CHECK(fresh.status == 200);
  CHECK_FALSE(slow.has_value());  // still running on the old connection
  REQUIRE(rig.runUntil([&] { return slow.has_value(); }));
  CHECK(slow->status == 200);
  CHECK(contains(slow->body, "\"slept\":1000"));
}

TEST_CASE("many concurrent requests share one connection") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"));
  constexpr int kCount = 600;  // more than Go's 250 concurrent streams: nghttp2 queues the rest
  int created = 0, other = 0;
  for (int i = 0; i < kCount; ++i) {
    rig.client->request("POST", kThings, thing("t" + std::to_string(i)),
                        [&](Response r) { (r.status == 201 ? created : other)++; });
  }
  REQUIRE(rig.runUntil([&] { return created + other == kCount; }, 60s));
  CHECK(created == kCount);
  CHECK(rig.client->connects() == 1);
  Response list = rig.call("GET", kThings);
  CHECK(list.status == 200);
  CHECK(contains(list.body, "\"name\":\"t599\""));
  Response big = rig.call("GET", "/big?bytes=3000000");
  CHECK(big.status == 200);
  CHECK(big.body.size() > 3000000);
}

TEST_CASE("destroying the client with requests in flight, after the reactor drained") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"));
  REQUIRE(rig.call("GET", "/echo").status == 200);
  int answered = 0;
  int base = server.requests();
  for (int i = 0; i < 10; ++i) {
    rig.client->request("GET", "/slow?ms=10000", "", [&](Response) { ++answered; });
  }
  rig.client->watch(
      std::string(kThings) + "?watch=true", [](std::string_view) {}, [&](Response) {});
  REQUIRE(rig.runUntil([&] { return server.requests() >= base + 11; }));
  REQUIRE(rig.reactor->drain(5s));
  rig.client->sweep();
  CHECK(rig.client->idle());
  rig.client.reset();  // nothing in flight: no abort, no callback into freed memory
  CHECK(answered == 0);
}

TEST_CASE("stop() ends everything with status 0, and later requests too, from the next turn") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  Rig rig;
  rig.connect(server.file("kubeconfig-cert"));
  REQUIRE(rig.call("GET", "/echo").status == 200);
  std::vector<Response> answers;
  rig.client->request("GET", "/slow?ms=10000", "", [&](Response r) { answers.push_back(r); });
  rig.client->watch(
      std::string(kThings) + "?watch=true", [](std::string_view) {},
      [&](Response r) { answers.push_back(r); });
  REQUIRE(rig.runUntil([&] { return rig.client->inFlight() == 2; }));
  rig.client->stop();
  CHECK(answers.size() == 2);
  for (const Response& r : answers) CHECK(r.error == "stopped");
  bool later = false;
  rig.client->request("GET", "/echo", "", [&](Response r) { later = r.error == "stopped"; });
  CHECK_FALSE(later);
  REQUIRE(rig.runUntil([&] { return later; }));
  REQUIRE(rig.runUntil([&] { return rig.client->idle(); }));
}

TEST_CASE("names: localhost through the resolver thread; an IPv6 literal") {
  TempDir dir;
  KubeApiServer server(udp::testing::kubeApiServerBinary(), dir.path());
  {
    Rig rig;
    rig.connect(server.file("kubeconfig-localhost"));
    Response echo = rig.call("GET", "/echo");
    REQUIRE_MESSAGE(echo.status == 200, echo.error);
    CHECK(contains(echo.body, "\"host\":\"localhost:" + std::to_string(server.port()) + "\""));
  }
  {
    // A name that does not resolve (or whose lookup hangs without DNS) costs the loop nothing.
    ClientConfig config = *loadKubeconfig(server.file("kubeconfig-localhost"));
    config.host = "nonexistent.invalid";
    config.server = "https://nonexistent.invalid";
    Rig rig;
    rig.connect(config);
    Request r;
    r.path = "/echo";
    r.deadline = 1000ms;
    Response answer = rig.call(r);
    CHECK(answer.status == 0);
    CHECK(contains(answer.error, "no connection to https://nonexistent.invalid within 1000 ms"));
  }
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 loopback{};
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  bool v6 = probe >= 0 && bind(probe, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
  if (probe >= 0) close(probe);
  if (!v6) {
    MESSAGE("no IPv6 loopback here: the [::1] case is left out");
    return;
  }
  TempDir dir6;
  KubeApiServer server6(udp::testing::kubeApiServerBinary(), dir6.path(), "[::1]:0");
  Rig rig;
  rig.connect(server6.file("kubeconfig-token"));
  CHECK(rig.client->config().host == "::1");
  Response echo = rig.call("GET", "/echo");
  REQUIRE_MESSAGE(echo.status == 200, echo.error);
  CHECK(contains(echo.body, "\"host\":\"[::1]:" + std::to_string(server6.port()) + "\""));
}

int main(int argc, char** argv) {
  return udp::testing::runKubeApiServerTests(argc, argv);
}
