#pragma once

// The Go stand-in for the API server (tests/support/kubeapi-server) as a child process: started
// with its own directory of certificates, token and kubeconfigs, driven by one-line commands on
// its stdin (stop, start, goaway, close-watches, requests), stopped by closing stdin.

#include <sys/types.h>

#include <string>

namespace udp::testing {

class KubeApiServer {
 public:
  // Throws std::runtime_error when it does not start.
  KubeApiServer(const std::string& binary, const std::string& dir,
                const std::string& listen = "127.0.0.1:0");
  ~KubeApiServer();
  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  // Sends a command and returns its one-line answer ("OK", "REQUESTS 3"); throws on silence.
  std::string command(const std::string& line);
  // How many requests reached the server.
  int requests();

 private:
  std::string readLine(int timeoutMs);

  std::string dir_;
  pid_t pid_ = -1;
  int in_ = -1;   // its stdin
  int out_ = -1;  // its stdout
  std::string buffered_;
  int port_ = 0;
};

// The kubeapi-server binary meson found ($KUBEAPI_SERVER), or "" where Go was missing.
const char* kubeApiServerBinary();

// main() of a test that needs kubeapi-server: 77 (SKIP) without it, else doctest's run, with
// SIGPIPE ignored (a server stopped mid-write must not kill the test).
int runKubeApiServerTests(int argc, char** argv);

}  // namespace udp::testing
