#include "http_test_client.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace udp::metrics::testing {

using namespace std::chrono_literals;

HttpResponse testHandler(std::string_view, std::string_view path) {
  if (path == "/hello") return {200, "text/plain", "hello\n"};
  if (path == "/big") return {200, "application/octet-stream", std::string(1 << 20, 'b')};
  return textResponse(404, "not found");
}

Harness::Harness(HttpLimits limits, HttpHandler handler) {
  auto r = reactor::Reactor::create(256);
  REQUIRE(r.ok());
  reactor = std::move(*r);
  server = std::make_unique<HttpServer>(*reactor, std::move(handler), limits);
}

Harness::~Harness() {
  server->stop();
  for (int i = 0; i < 400 && server->connectionCount() > 0; ++i) step();
  CHECK(server->connectionCount() == 0);
  // The retired listener's accept completes as cancelled; the server goes only after that.
  CHECK(reactor->drain(std::chrono::seconds(2)));
}

void Harness::step() {
  reactor->runOnce(2ms);
  server->sweep();
}

bool Harness::stepUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    step();
  }
  return true;
}

int Harness::port() const {
  std::string bound = server->boundAddress();
  return std::atoi(bound.substr(bound.rfind(':') + 1).c_str());
}

Client::~Client() {
  if (fd >= 0) ::close(fd);
}

void Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void Client::poll() {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      received.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) eof = true;
    return;
  }
}

std::unique_ptr<Client> connectTcp(int port) {
  auto c = std::make_unique<Client>();
  c->fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(c->fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return c;
}

std::unique_ptr<Client> connectUnix(const std::string& path) {
  auto c = std::make_unique<Client>();
  c->fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(c->fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return c;
}

std::vector<Response> responses(std::string_view data, const std::vector<bool>& heads) {
  std::vector<Response> out;
  while (true) {
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    Response r;
    std::string_view head = data.substr(0, end);
    size_t lineEnd = head.find("\r\n");
    std::string_view statusLine = head.substr(0, lineEnd);
    REQUIRE(statusLine.starts_with("HTTP/1.1 "));
    r.status = std::atoi(std::string(statusLine.substr(9, 3)).c_str());
    while (lineEnd != std::string_view::npos) {
      head.remove_prefix(lineEnd + 2);
      lineEnd = head.find("\r\n");
      std::string_view line = head.substr(0, lineEnd);
      size_t colon = line.find(": ");
      REQUIRE(colon != std::string_view::npos);
      std::string name(line.substr(0, colon));
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers[name] = std::string(line.substr(colon + 2));
    }
    size_t length = 0;
    bool isHead = out.size() < heads.size() && heads[out.size()];
    if (!isHead && r.headers.count("content-length")) {
      length = std::stoul(r.headers["content-length"]);
    }
    if (data.size() < end + 4 + length) break;
    r.body = std::string(data.substr(end + 4, length));
    data.remove_prefix(end + 4 + length);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Response> await(Harness& h, Client& client, size_t n, const std::vector<bool>& heads) {
  std::vector<Response> got;
  h.stepUntil([&] {
    client.poll();
    got = responses(client.received, heads);
    return got.size() >= n || client.eof;
  });
  REQUIRE(got.size() == n);
  return got;
}

bool awaitEof(Harness& h, Client& client, std::chrono::milliseconds limit) {
  return h.stepUntil(
      [&] {
        client.poll();
        return client.eof;
      },
      limit);
}

bool staysOpen(Harness& h, Client& client) {
  for (int i = 0; i < 10; ++i) {
    h.step();
    client.poll();
  }
  return !client.eof;
}

}  // namespace udp::metrics::testing
