#include "plugin_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace udp::testing {

PluginProcess::PluginProcess(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& stderrPath) {
  // The suite runs once per reactor backend (meson.build): UDP_TEST_REACTOR picks it.
  std::vector<std::string> fullArgs = args;
  if (const char* backend = getenv("UDP_TEST_REACTOR"); backend != nullptr && *backend != '\0') {
    fullArgs.push_back(std::string("--reactor=") + backend);
  }
  // Built before fork(): the simulator's threads may hold the allocator's locks.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : fullArgs) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    dup2(pipeFds[0], STDIN_FILENO);
    if (!stderrPath.empty()) {
      int log = open(stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (log >= 0) dup2(log, STDERR_FILENO);  // dup2 clears O_CLOEXEC on the copy
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(pipeFds[0]);
  stdinFd_ = pipeFds[1];
}

PluginProcess::~PluginProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdinFd_ >= 0) close(stdinFd_);
}

bool PluginProcess::send(const std::string& line) {
  std::string text = line + "\n";
  return write(stdinFd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

int PluginProcess::waitExit(int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (pid_ > 0) {
    int status;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

int PluginProcess::terminate(int timeoutMs) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  return waitExit(timeoutMs);
}

long PluginProcess::statusField(const std::string& key) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string word;
  while (in >> word) {
    if (word == key) {
      long value = -1;
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return -1;
}

int PluginProcess::openFds() const {
  int n = 0;
  std::string path = "/proc/" + std::to_string(pid_) + "/fd";
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
    closedir(dir);
  }
  return n;
}

std::string binaryFromEnv(const char* variable) {
  const char* value = getenv(variable);
  if (value == nullptr) throw std::runtime_error(std::string(variable) + " is not set");
  return value;
}

}  // namespace udp::testing
