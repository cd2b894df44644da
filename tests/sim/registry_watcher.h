// The kubelet's plugin watcher and reconciler in small (pkg/kubelet/pluginmanager): one thread
// watches a directory with inotify, hands every socket that appears (and each one there at
// start) to `registerSocket`, retries the ones it asks to with the kubelet's exponential backoff
// (500 ms doubling, at most 2 min), and hands every socket that disappears to
// `unregisterSocket`. Names starting with '.' are ignored, as the kubelet does. Test-only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace udp::sim {

class RegistryWatcher {
 public:
  enum class Outcome {
    kRegistered,  // in the actual state of the world
    kRetry,       // dial, GetInfo or validation failed: not registered, try again
    kHeld,        // registered, but the handler failed: the kubelet does not try again
  };
  using Register = std::function<Outcome(const std::string& socket)>;
  using Unregister = std::function<void(const std::string& socket)>;

  RegistryWatcher(std::string dir, Register registerSocket, Unregister unregisterSocket);
  ~RegistryWatcher();  // stops and joins
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

  // Creates the directory if missing, watches it, then registers what is there; false when it
  // cannot watch.
  bool start();

 private:
  struct Pending {
    std::chrono::steady_clock::time_point due;
    std::chrono::milliseconds delay;
  };
  void run();
  void created(const std::string& name);
  void attempt(const std::string& path, Pending pending);

  const std::string dir_;
  const Register register_;
  const Unregister unregister_;
  int inotify_ = -1;
  int stopFd_ = -1;  // eventfd
  std::thread thread_;
  std::map<std::string, Pending> retries_;  // path → when to try again; touched by thread_ only
};

}  // namespace udp::sim
