// A kubelet device manager stand-in built on grpc++: it serves Registration on
// <dir>/kubelet.sock and talks to registered plugins the way pkg/kubelet/cm/devicemanager does
// (DESIGN.md §3). With SimOptions::pluginsRegistryDir it also registers device plugins the way
// the kubelet's plugin manager does (pkg/kubelet/pluginmanager, docs/plugin-watcher.md). Test-only;
// it must never use code from src/, so that our own gRPC stack is always judged by an independent
// implementation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "api.grpc.pb.h"
#include "api.pb.h"
#include "podresources.pb.h"
#include "registry_watcher.h"

namespace udp::sim {

class PodResourcesServer;

struct DeviceUpdate {
  std::chrono::steady_clock::time_point at;  // when the message arrived, for latency figures
  std::vector<v1beta1::Device> devices;
};

struct PluginInfo {
  std::string resource, endpoint;
  std::string registrationSocket;  // plugin watcher: the socket it registered through, else ""

  v1beta1::DevicePluginOptions options;  // as answered by GetDevicePluginOptions, not as sent
  int registrations = 0;                 // successful Register calls in total, across restarts
  std::chrono::steady_clock::time_point registeredAt;
  bool streaming = false;  // the current ListAndWatch is open
  // How the current ListAndWatch ended, as grpc++ reports it (the trailers' grpc-status, or
  // UNAVAILABLE / INTERNAL etc. when the transport lost them); empty while it is open.
  std::optional<grpc::StatusCode> streamEndCode{};
  std::string streamEndMessage{};
  // The kubelet holds a client for the resource (with SimOptions::oneClientPerName, handler.go's
  // clients[name], entered before the client has connected): the end of a ListAndWatch then
  // marks the devices unhealthy. Without one, nothing does.
  bool clientRegistered = false;
  // Healthy devices as the kubelet counts them (allocatable): the latest update's, 0 once it
  // marked the resource's devices unhealthy.
  int allocatable = 0;
};

// Every field has a default member initializer so that designated initializers
// (SimOptions{.dir = d}) compile under -Wextra.
struct SimOptions {
  std::string dir{};        // the kubelet device-plugins dir; kubelet.sock lives here
  std::string authority{};  // "" = grpc default ("localhost"); else e.g. the socket path (< 1.26)
  // The kubelet's Start() removes every socket in the dir before it listens; a test that wants
  // its plugin's socket to survive start() can turn this off. restart() always removes them.
  bool cleanupOnStart = true;
  // Allocate, GetPreferredAllocation and GetDevicePluginOptions carry no deadline on the wire
  // (the kubelet uses context.Background()); the simulator still cancels them after this long
  // so that a hung plugin fails a test instead of hanging it.
  std::chrono::milliseconds callTimeout{10000};
  // Where to serve the PodResources API (List), as the kubelet does on
  // /var/lib/kubelet/pod-resources/kubelet.sock; "" = not served. Started and stopped with the
  // Registration service, so a restart() restarts it too.
  std::string podResourcesSocket{};
  // Plugin-watcher mode when set: like the kubelet's plugin manager, watch this directory
  // (inotify, and the sockets already there at start), dial each socket that appears, GetInfo,
  // validate (type DevicePlugin, version v1beta1, an extended resource name), dial the endpoint as
  // given, GetDevicePluginOptions, open ListAndWatch, NotifyRegistrationStatus(true); a failed
  // dial or GetInfo, or a failed validation, is retried with the kubelet's backoff (500 ms
  // doubling); a failed connection to the endpoint is not (the kubelet then holds the socket as
  // registered until it is re-created). A socket that disappears is unregistered: the plugin's
  // client is closed. Started and stopped with the Registration service; restart() re-registers
  // every socket still there.
  std::string pluginsRegistryDir{};
  // The v1.34 device manager's client bookkeeping (cm/devicemanager/plugin/v1beta1/handler.go,
  // client.go): one client per resource name, entered before it dials, and a second
  // registration overwrites the entry without closing the client it replaces. When any client's
  // ListAndWatch ends, runClient disconnects whichever client is registered under the name by
  // then: the devices are marked unhealthy and that client forgotten; its connection is closed
  // only if it has connected. A forgotten client that connects later streams into the resource
  // all the same, and the end of its stream marks nothing. Plugin-watcher unregistration
  // disconnects the registered client whatever socket it came from. Off: a new registration
  // closes the client it replaces, and only the current client's stream counts (what later
  // kubelets amount to for a plugin that registers once at a time).
  bool oneClientPerName = false;
  // With oneClientPerName, so that a test can replay an order the real v1.34.4 kubelet showed
  // (its goroutines run in no set order): it registered a plugin's new client, then acted on the
  // end of the stream that Register replaced, and only then finished connecting the new client.
  // runClientDelay: from a stream's end to runClient's disconnect; connectDelay: from
  // registerClient to the dial.
  std::chrono::milliseconds runClientDelay{0};
  std::chrono::milliseconds connectDelay{0};

  // Event hooks, called from gRPC and stream threads without any simulator lock held, so they
  // may make calls on plugins; but never start/stop/restart from one (stop joins the thread
  // that runs it). Keep them short: the stream waits for them.
  std::function<void(const PluginInfo&)> onRegistered{};
  std::function<void(const std::string& resource, const DeviceUpdate&)> onDevices{};
  std::function<void(const std::string& resource, const grpc::Status& status)> onStreamEnded{};
  std::function<void(const std::string& resource, const std::string& message)> onRegisterFailed{};
};

class KubeletSim {
 public:
  explicit KubeletSim(SimOptions options);
  ~KubeletSim();
  KubeletSim(const KubeletSim&) = delete;
  KubeletSim& operator=(const KubeletSim&) = delete;

  // Creates dir if missing and listens on dir/kubelet.sock (Registration service).
  bool start();
  // Stops serving Register and closes every plugin channel, which ends the streams.
  void stop();
  // What the kubelet's disconnectClient does when a ListAndWatch fails without a restart (a
  // message over its limit, a transport error): the stream is cancelled and the plugin's
  // connection closed, while kubelet.sock and the plugin's socket stay and Register is still
  // served. The kubelet never dials the plugin again; only a new Register brings it back.
  // Returns false when `resource` has no connection.
  bool dropConnection(const std::string& resource);
  // What a kubelet restart looks like to a plugin: stop, remove every socket file in dir
  // (plugins' included), listen on a fresh kubelet.sock.
  bool restart();

  std::string socketPath() const;

  // Waits until `resource` has registered successfully at least n times in total.
  bool waitForRegistrations(const std::string& resource, int n, std::chrono::milliseconds timeout);
  // Returns the first of the latest update and those after it that satisfies pred, i.e. the
  // current device set if it already matches, else the first later one that does.
  std::optional<DeviceUpdate> waitForDevices(
      const std::string& resource, std::function<bool(const std::vector<v1beta1::Device>&)> pred,
      std::chrono::milliseconds timeout);
  // Waits until the current ListAndWatch of `resource` has ended (e.g. the plugin stopped).
  bool waitForStreamEnded(const std::string& resource, std::chrono::milliseconds timeout);
  // The same, and returns the status it ended with (nullopt on timeout).
  std::optional<grpc::Status> waitForStreamStatus(const std::string& resource,
                                                  std::chrono::milliseconds timeout);

  // Every update since the last successful registration of `resource`.
  std::vector<DeviceUpdate> updates(const std::string& resource);
  std::optional<PluginInfo> plugin(const std::string& resource);
  std::vector<std::string> registrationErrors();
  // Plugin-watcher mode: the registration sockets held as registered (the kubelet's actual state
  // of the world), and NotifyRegistrationStatus calls made so far.
  std::vector<std::string> registeredSockets();
  int registrationNotices();

  // What PodResources List answers from now on (empty until set).
  void setPodResources(v1::ListPodResourcesResponse response);
  // List calls answered so far.
  uint64_t podResourcesCalls();
  // While held, List calls wait instead of answering (a kubelet slow to answer), until released
  // or until their client gives up.
  void holdPodResources(bool held);

  // Calls on the registered plugin of `resource` as the kubelet makes them: one container
  // request each, a fresh ClientContext each.
  grpc::Status allocate(const std::string& resource, const std::vector<std::string>& ids,
                        v1beta1::AllocateResponse* out);
  grpc::Status getPreferredAllocation(const std::string& resource,
                                      const std::vector<std::string>& available,
                                      const std::vector<std::string>& mustInclude, int size,
                                      v1beta1::PreferredAllocationResponse* out);
  // 30 s deadline, sent as grpc-timeout, like the kubelet.
  grpc::Status preStartContainer(const std::string& resource, const std::vector<std::string>& ids);
  grpc::Status getOptions(const std::string& resource, v1beta1::DevicePluginOptions* out);

 private:
  class RegistrationService;
  class Connection;

  struct ResourceState {
    // The plugin the kubelet would call; null before one. With oneClientPerName: the client
    // registered under the name (clients[name]), connected or still dialling.
    std::shared_ptr<Connection> current;
    // With oneClientPerName: the client that connected last (the manager's endpoint, which the
    // kubelet calls), and clients it forgot without closing them (alive until stop()).
    std::shared_ptr<Connection> endpoint;
    std::vector<std::shared_ptr<Connection>> forgotten;
    PluginInfo info;
    std::vector<DeviceUpdate> updates;
    unsigned generation = 0;  // bumped at each registration, so waiters notice the reset
  };

  grpc::Status handleRegister(grpc::ServerContext* context, const v1beta1::RegisterRequest& req);
  // The device manager's connectClient: dial `target` (blocking, until `deadline`),
  // GetDevicePluginOptions, make it the resource's plugin and open its ListAndWatch. Returns the
  // kubelet's error text, or nullopt when connected. `context`: the Register call's, whose
  // deadline and cancellation carry over (null from the plugin watcher).
  std::optional<std::string> connectClient(const std::string& resource, const std::string& target,
                                           const std::string& endpoint,
                                           const std::string& registrationSocket,
                                           std::chrono::system_clock::time_point deadline,
                                           grpc::ServerContext* context);
  // Plugin watcher (kubelet_sim_plugin_watcher.cc), on the watcher's thread.
  RegistryWatcher::Outcome registerSocket(const std::string& socket);
  void unregisterSocket(const std::string& socket);
  void closeClient(const std::string& resource, const std::string& registrationSocket);
  void streamUpdate(Connection* conn, DeviceUpdate update);
  void streamEnded(Connection* conn, const grpc::Status& status);
  // oneClientPerName: disconnectClient(name, getClient(name)).
  void disconnectRegistered(const std::string& resource);
  // Waits `delay`, or until stop().
  void pause(std::chrono::milliseconds delay);
  std::shared_ptr<Connection> connectionFor(const std::string& resource);
  void removeSockets();

  const SimOptions options_;
  const std::string dir_;  // absolute

  std::mutex serverMutex_;  // serialises start/stop; never held with mutex_ taken first
  std::unique_ptr<RegistrationService> service_;
  std::unique_ptr<grpc::Server> server_;
  const std::unique_ptr<PodResourcesServer> podResources_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool serving_ = false;  // Register calls finishing after stop() must not leave a plugin behind
  std::map<std::string, ResourceState> resources_;
  std::vector<std::string> registrationErrors_;
  std::map<std::string, std::string> registeredSockets_;  // socket → resource (plugin watcher)
  int registrationNotices_ = 0;
  std::unique_ptr<RegistryWatcher> watcher_;  // plugin-watcher mode, while started
};

}  // namespace udp::sim
