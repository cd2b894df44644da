#include "cli/command_line.h"

#include <errno.h>
#include <stdlib.h>

#include <map>

#include "reactor/reactor.h"

namespace udp::cli {

const char* const kUsage =
    "usage: udev-device-plugin [run] --config FILE [--kubelet-dir DIR] [--metrics-address ADDR]\n"
    "                          [--audit-log FILE] [--log-format text|json] [--log-level LEVEL]\n"
    "                          [--reactor auto|io_uring|epoll]\n"
    "       udev-device-plugin list --config FILE\n"
    "       udev-device-plugin describe --config FILE\n"
    "       udev-device-plugin check-config --config FILE\n"
    "       udev-device-plugin deviceclasses --config FILE\n"
    "       udev-device-plugin --version | --help\n"
    "\n"
    "  run            serve the configured resources to the kubelet (default)\n"
    "  list           show what would be advertised now: resources, devices, health, nodes\n"
    "  describe       print the governance record (JSON): build, privileges, deployment,\n"
    "                 devices and what containers get (docs/describe.schema.json)\n"
    "  check-config   validate the config; print file:line:column errors and exit 1\n"
    "  deviceclasses  print a DeviceClass for each resource served through DRA, as YAML\n"
    "                 for kubectl apply -f - (docs/dra.md)\n"
    "\n"
    "  --config FILE        the YAML or JSON config\n"
    "  --kubelet-dir DIR    overrides the config's kubeletDir\n"
    "                       (default /var/lib/kubelet/device-plugins)\n"
    "  --log-level LEVEL    debug, info, warning or error (default info)\n"
    "  --log-format FORMAT  text (default) or json; under systemd without timestamps\n"
    "  --metrics-address ADDR\n"
    "                       serve /metrics (Prometheus), /healthz, /readyz and /describe on\n"
    "                       127.0.0.1:PORT, [::1]:PORT or unix:PATH (default: off)\n"
    "  --audit-log FILE     also write the audit log (JSON lines) to FILE, size-rotated\n"
    "  --audit-log-max-bytes N   rotate FILE before it grows past N bytes (default 10485760)\n"
    "  --audit-log-keep N   rotated files kept: FILE.1 .. FILE.N (default 5)\n"
    "  --no-audit-stream    do not copy audit lines into the log stream\n"
    "  --pod-resources-socket PATH\n"
    "                       the kubelet's PodResources API, asked who holds a device that\n"
    "                       fails (default /var/lib/kubelet/pod-resources/kubelet.sock)\n"
    "  --reactor BACKEND    io_uring, epoll, or auto (default): io_uring, and epoll where\n"
    "                       the kernel or a seccomp profile refuses io_uring\n"
    "\n"
    "Exit status: 0 clean stop, 1 bad usage or config, 2 runtime failure.\n"
    "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config.\n";

Result<CommandLine> parseCommandLine(const std::vector<std::string>& args) {
  CommandLine line;
  static const std::map<std::string, Command> kCommands = {
      {"run", Command::kRun},
      {"list", Command::kList},
      {"describe", Command::kDescribe},
      {"check-config", Command::kCheckConfig},
      {"deviceclasses", Command::kDeviceClasses},
  };
  size_t i = 0;
  if (!args.empty() && !args[0].starts_with("-")) {
    auto it = kCommands.find(args[0]);
    if (it == kCommands.end()) return makeError(1, "unknown command \"" + args[0] + "\"");
    line.command = it->second;
    i = 1;
  }
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "--version") {
      CommandLine info;
      info.command = arg == "--version" ? Command::kVersion : Command::kHelp;
      return info;
    }
    if (arg == "--no-audit-stream") {
      line.auditToLog = false;
      continue;
    }

    // Both "--flag value" and "--flag=value".
    std::string name = arg, value;
    bool inlineValue = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inlineValue = true;
    }
    std::string* target = nullptr;
    std::string number;  // for the numeric options, converted below
    if (name == "--config") {
      target = &line.configPath;
    } else if (name == "--kubelet-dir") {
      target = &line.kubeletDir;
    } else if (name == "--log-level") {
      target = &line.logLevel;
    } else if (name == "--log-format") {
      target = &line.logFormat;
    } else if (name == "--metrics-address") {
      target = &line.metricsAddress;
    } else if (name == "--pod-resources-socket") {
      target = &line.podResourcesSocket;
    } else if (name == "--reactor") {
      target = &line.reactor;
    } else if (name == "--audit-log") {
      target = &line.auditLogPath;
    } else if (name == "--audit-log-max-bytes" || name == "--audit-log-keep") {
      target = &number;
    } else {
      return makeError(1, "unknown option \"" + arg + "\"");
    }
    if (!inlineValue) {
      if (i + 1 >= args.size()) return makeError(1, name + " needs a value");
      value = args[++i];
    }
    if (value.empty()) return makeError(1, name + " needs a non-empty value");
    *target = value;
    if (target == &number) {
      char* end = nullptr;
      errno = 0;
      unsigned long long parsed = strtoull(value.c_str(), &end, 10);
      bool keep = name == "--audit-log-keep";
      if (errno != 0 || *end != '\0' || value[0] == '-' || parsed == 0 || (keep && parsed > 1000)) {
        return makeError(1, name + ": expected a positive number" + (keep ? " up to 1000" : "") +
                                ", not \"" + value + "\"");
      }
      if (keep) {
        line.auditLogKeep = static_cast<int>(parsed);
      } else {
        line.auditLogMaxBytes = parsed;
      }
    }
  }
  if (line.configPath.empty()) return makeError(1, "--config FILE is required");
  if (line.logFormat != "text" && line.logFormat != "json") {
    return makeError(1, "--log-format: \"text\" or \"json\", not \"" + line.logFormat + "\"");
  }
  if (!reactor::parseBackend(line.reactor)) {
    return makeError(
        1, "--reactor: \"auto\", \"io_uring\" or \"epoll\", not \"" + line.reactor + "\"");
  }
  return line;
}

}  // namespace udp::cli
