#include "cli/command_line.h"

#include <map>

namespace udp::cli {

const char* const kUsage =
    "usage: udev-device-plugin [run] --config FILE [--kubelet-dir DIR] [--log-level LEVEL]\n"
    "       udev-device-plugin list --config FILE\n"
    "       udev-device-plugin check-config --config FILE\n"
    "       udev-device-plugin --version | --help\n"
    "\n"
    "  run            serve the configured resources to the kubelet (default)\n"
    "  list           show what would be advertised now: resources, devices, health, nodes\n"
    "  check-config   validate the config; print file:line:column errors and exit 1\n"
    "\n"
    "  --config FILE        the YAML or JSON config\n"
    "  --kubelet-dir DIR    overrides the config's kubeletDir\n"
    "                       (default /var/lib/kubelet/device-plugins)\n"
    "  --log-level LEVEL    debug, info, warning or error (default info)\n"
    "  --log-format FORMAT  text (default)\n"
    "\n"
    "Exit status: 0 clean stop, 1 bad usage or config, 2 runtime failure.\n"
    "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config.\n";

Result<CommandLine> parseCommandLine(const std::vector<std::string>& args) {
  CommandLine line;
  static const std::map<std::string, Command> kCommands = {
      {"run", Command::kRun}, {"list", Command::kList}, {"check-config", Command::kCheckConfig}};
  size_t i = 0;
  if (!args.empty() && !args[0].starts_with("-")) {
    auto it = kCommands.find(args[0]);
    if (it == kCommands.end()) return makeError(1, "unknown command \"" + args[0] + "\"");
    line.command = it->second;
    i = 1;
  }
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") return CommandLine{Command::kHelp, {}, {}, {}, {}};
    if (arg == "--version") return CommandLine{Command::kVersion, {}, {}, {}, {}};

    // Both "--flag value" and "--flag=value".
    std::string name = arg, value;
    bool inlineValue = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inlineValue = true;
    }
    std::string* target = nullptr;
    if (name == "--config") {
      target = &line.configPath;
    } else if (name == "--kubelet-dir") {
      target = &line.kubeletDir;
    } else if (name == "--log-level") {
      target = &line.logLevel;
    } else if (name == "--log-format") {
      target = &line.logFormat;
    } else {
      return makeError(1, "unknown option \"" + arg + "\"");
    }
    if (!inlineValue) {
      if (i + 1 >= args.size()) return makeError(1, name + " needs a value");
      value = args[++i];
    }
    if (value.empty()) return makeError(1, name + " needs a non-empty value");
    *target = value;
  }
  if (line.configPath.empty()) return makeError(1, "--config FILE is required");
  if (line.logFormat != "text") {
    return makeError(1, "--log-format: only \"text\" is supported, not \"" + line.logFormat + "\"");
  }
  return line;
}

}  // namespace udp::cli
