#pragma once

// The command line (DESIGN.md §2), parsed by a pure function.

#include <string>
#include <vector>

#include "util/result.h"

namespace udp::cli {

enum class Command { kRun, kList, kCheckConfig, kHelp, kVersion };

struct CommandLine {
  Command command = Command::kRun;
  std::string configPath;
  std::string kubeletDir;  // empty: the config's kubeletDir
  std::string logLevel = "info";
  std::string logFormat = "text";
};

// argv without the program name. Errors say what was wrong, for "usage: ..." output.
Result<CommandLine> parseCommandLine(const std::vector<std::string>& args);

extern const char* const kUsage;

}  // namespace udp::cli
