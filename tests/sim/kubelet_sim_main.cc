// kubelet-sim: the kubelet simulator as a process, for the README demo and shell-driven tests.
// One line per event on stdout, flushed at once, so that a pipe reader sees events as they come.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <google/protobuf/text_format.h>

#include "kubelet_sim.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string dir;
  std::string authority;
  long exitAfterUpdates = 0;  // 0: never
  double timeoutSeconds = 0;  // 0: never
  std::string allocate;
  long restartEveryMs = 0;  // 0: never
};

void usage() {
  std::fprintf(stderr,
               "usage: kubelet-sim --dir DIR [--exit-after-updates N] [--timeout SECONDS]\n"
               "                   [--allocate RESOURCE] [--restart-every MS] [--authority A]\n");
}

std::optional<Args> parseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--help" || a == "-h") return std::nullopt;
    if (!(v = value())) return std::nullopt;
    char* end = nullptr;
    if (a == "--dir") {
      args.dir = v;
    } else if (a == "--authority") {
      args.authority = v;
    } else if (a == "--allocate") {
      args.allocate = v;
    } else if (a == "--exit-after-updates") {
      args.exitAfterUpdates = std::strtol(v, &end, 10);
    } else if (a == "--timeout") {
      args.timeoutSeconds = std::strtod(v, &end);
    } else if (a == "--restart-every") {
      args.restartEveryMs = std::strtol(v, &end, 10);
    } else {
      return std::nullopt;
    }
    if (end && (*end != '\0' || end == v)) return std::nullopt;
  }
  if (args.dir.empty()) return std::nullopt;
  return args;
}

void printLine(const std::string& line) {
  // One write per line: the hooks run on several threads.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string describe(const udp::sim::DeviceUpdate& update) {
  std::string s = "n=" + std::to_string(update.devices.size());
  for (const auto& d : update.devices) {
    s += " " + d.id() + ":" + d.health();
    if (d.has_topology() && d.topology().nodes_size() > 0) {
      s += "@numa";
      for (int i = 0; i < d.topology().nodes_size(); ++i)
        s += (i ? "," : "") + std::to_string(d.topology().nodes(i).id());
    }
  }
  return s;
}

// Events the main thread acts on; the hooks only queue them.
struct Events {
  std::mutex mutex;
  std::condition_variable cv;
  long updates = 0;
  std::deque<udp::sim::DeviceUpdate> toAllocate;  // first update of --allocate's resource
  bool allocateQueued = false;
  int signal = 0;
};

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parseArgs(argc, argv);
  if (!parsed) {
    usage();
    return 2;
  }
  const Args args = *parsed;

  // Blocked before any thread exists so that every gRPC thread inherits the mask and only the
  // sigwait thread below sees SIGINT/SIGTERM.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Events events;
  std::thread([&events, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::lock_guard lock(events.mutex);
    events.signal = sig;
    events.cv.notify_all();
  }).detach();

  udp::sim::SimOptions options;
  options.dir = args.dir;
  options.authority = args.authority;
  options.onRegistered = [](const udp::sim::PluginInfo& info) {
    printLine("registered " + info.resource + " endpoint=" + info.endpoint + " options=pre_start=" +
              (info.options.pre_start_required() ? "true" : "false") + ",preferred=" +
              (info.options.get_preferred_allocation_available() ? "true" : "false"));
  };
  options.onDevices = [&](const std::string& resource, const udp::sim::DeviceUpdate& update) {
    printLine("devices " + resource + " " + describe(update));
    std::lock_guard lock(events.mutex);
    events.updates++;
    if (resource == args.allocate && !events.allocateQueued) {
      events.allocateQueued = true;
      events.toAllocate.push_back(update);
    }
    events.cv.notify_all();
  };
  options.onStreamEnded = [](const std::string& resource, const grpc::Status& status) {
    printLine("stream-ended " + resource + " grpc-status " +
              std::to_string(static_cast<int>(status.error_code())));
  };
  options.onRegisterFailed = [](const std::string& resource, const std::string& message) {
    printLine("register-failed " + (resource.empty() ? std::string("-") : resource) + " " +
              message);
  };

  udp::sim::KubeletSim sim(options);
  if (!sim.start()) {
    std::fprintf(stderr, "kubelet-sim: cannot listen on %s\n", sim.socketPath().c_str());
    return 1;
  }
  printLine("listening " + sim.socketPath());

  const auto started = Clock::now();
  std::optional<Clock::time_point> exitAt;
  if (args.timeoutSeconds > 0)
    exitAt = started + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(args.timeoutSeconds));
  std::optional<Clock::time_point> restartAt;
  if (args.restartEveryMs > 0) restartAt = started + std::chrono::milliseconds(args.restartEveryMs);

  int rc = 0;
  std::unique_lock lock(events.mutex);
  while (true) {
    if (events.signal) break;
    while (!events.toAllocate.empty()) {
      udp::sim::DeviceUpdate update = std::move(events.toAllocate.front());
      events.toAllocate.pop_front();
      lock.unlock();
      std::string id;
      for (const auto& d : update.devices)
        if (d.health() == "Healthy") {
          id = d.id();
          break;
        }
      if (id.empty()) {
        printLine("allocate-failed " + args.allocate + " no healthy device");
      } else {
        v1beta1::AllocateResponse response;
        grpc::Status s = sim.allocate(args.allocate, {id}, &response);
        if (s.ok()) {
          google::protobuf::TextFormat::Printer printer;
          printer.SetSingleLineMode(true);
          std::string text;
          printer.PrintToString(response, &text);
          while (!text.empty() && text.back() == ' ') text.pop_back();
          printLine("allocated " + args.allocate + " " + id + " " + text);
        } else {
          printLine("allocate-failed " + args.allocate + " " + id +
                    " code=" + std::to_string(s.error_code()) + " " + s.error_message());
        }
      }
      lock.lock();
    }
    if (args.exitAfterUpdates > 0 && events.updates >= args.exitAfterUpdates) break;

    auto now = Clock::now();
    if (exitAt && now >= *exitAt) {
      printLine("timeout");
      rc = 1;
      break;
    }
    if (restartAt && now >= *restartAt) {
      lock.unlock();
      bool ok = sim.restart();
      printLine(ok ? "restarted" : "restart-failed");
      lock.lock();
      restartAt = Clock::now() + std::chrono::milliseconds(args.restartEveryMs);
      continue;
    }
    auto wakeAt = Clock::time_point::max();
    if (exitAt) wakeAt = std::min(wakeAt, *exitAt);
    if (restartAt) wakeAt = std::min(wakeAt, *restartAt);
    if (wakeAt == Clock::time_point::max())
      events.cv.wait(lock);
    else
      events.cv.wait_until(lock, wakeAt);
  }
  lock.unlock();
  sim.stop();
  return rc;
}
