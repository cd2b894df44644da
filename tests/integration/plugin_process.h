#pragma once

// Starts the plugin binary as a child process with its stdin on a pipe (for the scripted
// device source) and stops it by its PID only. Its stderr (the log) is ours, or a file.

#include <sys/types.h>

#include <string>
#include <vector>

#include "../support/temp_dir.h"

namespace udp::testing {

class PluginProcess {
 public:
  // `stderrPath` non-empty: the child's stderr goes to that file (truncated) instead of ours.
  PluginProcess(const std::string& binary, const std::vector<std::string>& args,
                const std::string& stderrPath = {});
  ~PluginProcess();  // SIGKILL if still running

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Writes one script line ("add RES ID ...") to the plugin's stdin.
  bool send(const std::string& line);
  // SIGTERM, then waits up to `timeoutMs`; returns the exit status or -1.
  int terminate(int timeoutMs = 5000);
  // Waits for exit without signalling; -1 on timeout.
  int waitExit(int timeoutMs);

  // A numeric field of /proc/PID/status by its key ("VmHWM:", "voluntary_ctxt_switches:"), or
  // -1 when it is missing.
  long statusField(const std::string& key) const;
  long rssKiB() const { return statusField("VmRSS:"); }
  int openFds() const;  // entries in /proc/PID/fd

 private:
  pid_t pid_ = -1;
  int stdinFd_ = -1;
};

// The path of a built binary, from an environment variable set by meson.
std::string binaryFromEnv(const char* variable);

}  // namespace udp::testing
