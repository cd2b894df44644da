#include "kubeapi_server_process.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace udp::testing {

KubeApiServer::KubeApiServer(const std::string& binary, const std::string& dir,
                             const std::string& listen)
    : dir_(dir) {
  int toChild[2], fromChild[2];
  if (pipe2(toChild, O_CLOEXEC) != 0 || pipe2(fromChild, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, toChild[0], 0);
  posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1);
  std::vector<std::string> args = {binary, "-dir", dir, "-listen", listen};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(toChild[0]);
  close(fromChild[1]);
  in_ = toChild[1];
  out_ = fromChild[0];
  if (rc != 0) throw std::runtime_error("cannot start " + binary);
  std::string first = readLine(30000);  // the first run compiles nothing, but a cold disk is slow
  if (first.rfind("PORT ", 0) != 0) throw std::runtime_error("kubeapi-server said: " + first);
  port_ = std::stoi(first.substr(5));
}

KubeApiServer::~KubeApiServer() {
  close(in_);  // it exits when stdin closes
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(10000);
  }
  close(out_);
}

std::string KubeApiServer::readLine(int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) throw std::runtime_error("kubeapi-server: no answer");
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("kubeapi-server: exited");
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::string KubeApiServer::command(const std::string& line) {
  std::string text = line + "\n";
  if (write(in_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw std::runtime_error("kubeapi-server: cannot write");
  }
  return readLine(20000);
}

int KubeApiServer::requests() {
  std::string answer = command("requests");
  if (answer.rfind("REQUESTS ", 0) != 0) throw std::runtime_error("kubeapi-server: " + answer);
  return std::stoi(answer.substr(9));
}

const char* kubeApiServerBinary() {
  const char* path = getenv("KUBEAPI_SERVER");
  return path != nullptr ? path : "";
}

int runKubeApiServerTests(int argc, char** argv) {
  if (*kubeApiServerBinary() == '\0') {
    std::printf("SKIP: no kubeapi-server (Go was not found at configure time)\n");
    return 77;
  }
  signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}

}  // namespace udp::testing
