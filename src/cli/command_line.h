#pragma once

// The command line (DESIGN.md §2), parsed by a pure function.

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace udp::cli {

enum class Command { kRun, kList, kDescribe, kCheckConfig, kDeviceClasses, kHelp, kVersion };

struct CommandLine {
  Command command = Command::kRun;
  std::string configPath;
  std::string kubeletDir;  // empty: the config's kubeletDir
  std::string logLevel = "info";
  std::string logFormat = "text";
  std::string reactor = "auto";  // auto, io_uring or epoll
  std::string metricsAddress;    // "" = no metrics endpoint
  std::string auditLogPath;      // "" = no audit file
  uint64_t auditLogMaxBytes = 10 * 1024 * 1024;
  int auditLogKeep = 5;
  bool auditToLog = true;
  std::string podResourcesSocket =
      "/var/lib/kubelet/pod-resources/kubelet.sock";  // audit lines also go to the log stream
};

// argv without the program name. Errors say what was wrong, for "usage: ..." output.
Result<CommandLine> parseCommandLine(const std::vector<std::string>& args);

extern const char* const kUsage;

}  // namespace udp::cli
