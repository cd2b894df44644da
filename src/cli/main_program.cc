#include "cli/main_program.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "app/malloc_policy.h"
#include "app/signals.h"
#include "build_config.h"
#include "cli/check_config.h"
#include "cli/command_line.h"
#include "cli/device_classes.h"
#include "config/config_file.h"
#include "config/config_parser.h"
#include "governance/describe_offline.h"
#include "metrics/listen_address.h"
#include "udev/udev_scan.h"
#include "util/log.h"

namespace udp::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitRuntime = 2;

std::optional<config::Config> loadConfig(const std::string& path, const CommandLine& line,
                                         bool quiet = false) {
  config::ParseOutcome outcome = config::loadConfigFile(path);
  if (!outcome.config) {
    for (const auto& diagnostic : outcome.errors) {
      std::string text = config::formatDiagnostic(path, diagnostic);
      if (quiet) {
        logError(text);
      } else {
        fprintf(stderr, "%s\n", text.c_str());
      }
    }
    return std::nullopt;
  }
  if (!line.kubeletDir.empty()) outcome.config->kubeletDir = line.kubeletDir;
  return std::move(outcome.config);
}

int listDevices(const config::Config& config) {
  auto scanned = udev::scanOnce(config);
  if (!scanned) {
    fprintf(stderr, "error: scan failed: %s\n", scanned.error().message.c_str());
    return kExitRuntime;
  }
  printf("%-32s %-40s %-9s %-5s %s\n", "RESOURCE", "DEVICE ID", "HEALTH", "NUMA", "DEVNODE");
  std::map<std::string, size_t> counts;
  for (const auto& entry : *scanned) {
    const plugin::Device& d = entry.device;
    ++counts[entry.resource];
    printf("%-32s %-40s %-9s %-5s %s\n", entry.resource.c_str(), d.id.c_str(),
           d.healthy ? "Healthy" : "Unhealthy",
           d.numaNode >= 0 ? std::to_string(d.numaNode).c_str() : "-",
           d.devnode.empty() ? "-" : d.devnode.c_str());
  }
  for (const config::Resource& resource : config.resources) {
    if (!counts.contains(resource.name)) {
      printf("%-32s %-40s\n", resource.name.c_str(), "(no matching devices)");
    }
  }
  return kExitOk;
}

int run(const CommandLine& line, config::Config config,
        const app::Daemon::SourceFactory& makeSource) {
  app::applyMallocPolicy();
  std::string fallbackReason;
  auto reactor =
      reactor::Reactor::create(*reactor::parseBackend(line.reactor), 256, &fallbackReason);
  if (!reactor) {
    logError(reactor.error().message);
    return kExitRuntime;
  }
  if (!fallbackReason.empty()) {
    logWarning(fallbackReason + "; using epoll instead", {{"reactor", "epoll"}});
  }
  app::DaemonOptions options;
  options.configPath = line.configPath;
  if (auto sha = governance::configFileSha256(line.configPath)) options.configSha256 = *sha;
  options.accounting.metricsAddress = line.metricsAddress;
  options.accounting.audit.path = line.auditLogPath;
  options.accounting.audit.maxBytes = line.auditLogMaxBytes;
  options.accounting.audit.keepFiles = line.auditLogKeep;
  options.accounting.audit.toLogStream = line.auditToLog;
  options.accounting.podResourcesSocket = line.podResourcesSocket;
  app::Daemon daemon(**reactor, std::move(config), makeSource, std::move(options));
  daemon.setReloader([line, &daemon] {
    auto config = loadConfig(line.configPath, line, true);
    if (config) {
      if (auto sha = governance::configFileSha256(line.configPath)) daemon.setConfigSha256(*sha);
    }
    return config;
  });
  if (auto r = daemon.start(); !r) {
    logError(r.error().message);
    return kExitRuntime;
  }
  logInfo(std::string("udev-device-plugin ") + UDP_VERSION + " running",
          {{"reactor", std::string(reactor::backendName((*reactor)->backend()))}});
  int rc = (*reactor)->run();
  // Every op must complete before its owner is destroyed (the daemon, on return).
  if (!(*reactor)->drain(std::chrono::seconds(2))) {
    logError("stop: " + std::to_string((*reactor)->inFlight()) +
             " operations still in flight; exiting without freeing their owners");
    std::_Exit(rc < 0 ? kExitRuntime : kExitOk);
  }
  if (rc < 0) {
    logError("reactor failed: " + std::to_string(rc));
    return kExitRuntime;
  }
  logInfo("stopped");
  return kExitOk;
}

}  // namespace

int mainProgram(int argc, char** argv, const app::Daemon::SourceFactory& makeSource) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto line = parseCommandLine(args);
  if (!line) {
    fprintf(stderr, "udev-device-plugin: %s\n\n%s", line.error().message.c_str(), kUsage);
    return kExitUsage;
  }
  switch (line->command) {
    case Command::kHelp:
      fputs(kUsage, stdout);
      return kExitOk;
    case Command::kVersion:
      printf("udev-device-plugin %s\n", UDP_VERSION);
      return kExitOk;
    default:
      break;
  }
  LogLevel level;
  if (!parseLogLevel(line->logLevel, level)) {
    fprintf(stderr, "udev-device-plugin: unknown --log-level \"%s\"\n", line->logLevel.c_str());
    return kExitUsage;
  }
  setLogLevel(level);
  LogFormat format = LogFormat::kText;
  parseLogFormat(line->logFormat, format);  // parseCommandLine accepted it already
  setLogFormat(format);
  if (!line->metricsAddress.empty()) {
    if (auto address = metrics::parseListenAddress(line->metricsAddress); !address) {
      fprintf(stderr, "udev-device-plugin: --metrics-address: %s\n",
              address.error().message.c_str());
      return kExitUsage;
    }
  }

  if (line->command == Command::kRun) {
    // From here on SIGTERM, SIGINT and SIGHUP wait for the daemon's signalfd instead of killing
    // the process with their default action: a `systemctl reload` or a stop that arrives while
    // the config is still being read is handled once the loop runs.
    if (auto r = app::blockDaemonSignals(); !r) logWarning(r.error().message);
  }
  std::optional<config::Config> config = loadConfig(line->configPath, *line);
  if (!config) return kExitUsage;
  switch (line->command) {
    case Command::kCheckConfig:
      return checkConfig(line->configPath, *config);
    case Command::kList:
      return listDevices(*config);
    case Command::kDescribe:
      return governance::describeOffline(line->configPath, *config);
    case Command::kDeviceClasses:
      return printDeviceClasses(line->configPath, *config);
    default:
      return run(*line, std::move(*config), makeSource);
  }
}

}  // namespace udp::cli
