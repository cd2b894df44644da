#pragma once

// For the socket-level tests of the metrics server: a reactor and server stepped one turn at a
// time, and a plain blocking-socket client that reads without blocking between turns.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/http_server.h"
#include "reactor/reactor.h"

namespace udp::metrics::testing {

// /hello: a short text; /big: 1 MiB; anything else 404.
HttpResponse testHandler(std::string_view method, std::string_view path);

inline const std::string kGetHello = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

struct Harness {
  std::unique_ptr<reactor::Reactor> reactor;
  std::unique_ptr<HttpServer> server;

  explicit Harness(HttpLimits limits = {}, HttpHandler handler = testHandler);
  // Stops the server and steps until every connection is freed.
  ~Harness();
  void step();
  // Steps until `done` holds, for at most `limit`.
  bool stepUntil(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(3));
  int port() const;
};

struct Client {
  int fd = -1;
  std::string received;
  bool eof = false;  // EOF or a reset

  ~Client();
  void send(std::string_view bytes);
  // Takes whatever has arrived, without blocking.
  void poll();
};

// Blocking connects: the listen backlog accepts without the reactor's help.
std::unique_ptr<Client> connectTcp(int port);
std::unique_ptr<Client> connectUnix(const std::string& path);

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// The complete responses in `data`; `heads` says which answer a HEAD (no body follows).
std::vector<Response> responses(std::string_view data, const std::vector<bool>& heads = {});
// Steps until `n` responses are complete on `client` (REQUIREd).
std::vector<Response> await(Harness& h, Client& client, size_t n,
                            const std::vector<bool>& heads = {});
bool awaitEof(Harness& h, Client& client,
              std::chrono::milliseconds limit = std::chrono::seconds(3));
// Steps a few turns; true when the connection is still open after them.
bool staysOpen(Harness& h, Client& client);

}  // namespace udp::metrics::testing
