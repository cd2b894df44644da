#include "kubelet_sim.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <string_view>
#include <thread>
#include <utility>

#include <grpc/compression.h>

#include "kubelet_rules.h"
#include "pod_resources_server.h"

namespace udp::sim {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kVersion = "v1beta1";
constexpr std::chrono::seconds kDialTimeout{10};      // devicemanager dial()
constexpr std::chrono::seconds kPreStartTimeout{30};  // KubeletPreStartContainerRPCTimeoutInSecs
constexpr int kMaxMessage = 4 * 1024 * 1024;          // grpc-go's default receive limit

std::string absolute(const std::string& dir) {
  std::error_code ec;
  auto p = std::filesystem::absolute(dir, ec);
  return ec ? dir : p.lexically_normal().string();
}

// The kubelet's calls other than PreStartContainer use context.Background(): no grpc-timeout on
// the wire. We still give up locally (TryCancel) so that a hung plugin fails a test.
template <typename Start>
grpc::Status callWithLocalTimeout(grpc::ClientContext& ctx, std::chrono::milliseconds timeout,
                                  Start start) {
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
  };
  // Shared: the callback may run after we have stopped waiting on a timeout.
  auto done = std::make_shared<Done>();
  start([done](grpc::Status s) {
    std::lock_guard lock(done->mutex);
    done->status = std::move(s);
    done->done = true;
    done->cv.notify_all();
  });
  std::unique_lock lock(done->mutex);
  if (done->cv.wait_for(lock, timeout, [&] { return done->done; })) return done->status;
  ctx.TryCancel();
  done->cv.wait(lock, [&] { return done->done; });
  if (done->status.error_code() == grpc::StatusCode::CANCELLED)
    return {grpc::StatusCode::DEADLINE_EXCEEDED,
            "kubelet-sim: no answer in " + std::to_string(timeout.count()) +
                " ms (cancelled locally; no grpc-timeout was sent)"};
  return done->status;
}

}  // namespace

class KubeletSim::RegistrationService final : public v1beta1::Registration::Service {
 public:
  explicit RegistrationService(KubeletSim& sim) : sim_(sim) {}
  grpc::Status Register(grpc::ServerContext* context, const v1beta1::RegisterRequest* req,
                        v1beta1::Empty*) override {
    return sim_.handleRegister(context, *req);
  }

 private:
  KubeletSim& sim_;
};

// One registered plugin as the kubelet's devicemanager client sees it: its own channel (own
// connection) and one ListAndWatch. Closing cancels the stream and joins its thread.
class KubeletSim::Connection {
 public:
  Connection(std::shared_ptr<grpc::Channel> channel, std::string resource)
      : resource_(std::move(resource)),
        channel_(std::move(channel)),
        stub_(v1beta1::DevicePlugin::NewStub(channel_)) {}
  ~Connection() { close(); }

  v1beta1::DevicePlugin::Stub& stub() { return *stub_; }
  const std::string& resource() const { return resource_; }

  bool connected = false;  // GetDevicePluginOptions answered (guarded by the sim's mutex_)

  void startStream(KubeletSim& sim) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    thread_ = std::thread([this, &sim] { runStream(sim); });
  }

  void close() {
    std::thread thread;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      streamContext_.TryCancel();  // safe before the call starts: it is cancelled at start
      thread = std::move(thread_);
    }
    if (!thread.joinable()) return;
    // Reachable if a hook on this stream, or a v1.34 runClient on it, dropped the last reference:
    // cannot self-join.
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();
      return;
    }
    thread.join();
  }

 private:
  void runStream(KubeletSim& sim) {
    grpc::Status status;
    {
      auto reader = stub_->ListAndWatch(&streamContext_, v1beta1::Empty());
      v1beta1::ListAndWatchResponse response;
      while (reader->Read(&response)) {
        DeviceUpdate update{Clock::now(), {}};
        update.devices.assign(response.devices().begin(), response.devices().end());
        sim.streamUpdate(this, std::move(update));
      }
      // The final status is what tells a clean end (trailers with grpc-status 0) from a lost one.
      status = reader->Finish();
    }
    // Last: a v1.34 runClient may free this connection here, on its own thread.
    sim.streamEnded(this, status);
  }

  const std::string resource_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1beta1::DevicePlugin::Stub> stub_;
  grpc::ClientContext streamContext_;  // no deadline: the kubelet's ListAndWatch has none

  std::mutex mutex_;
  bool closed_ = false;
  std::thread thread_;
};

KubeletSim::KubeletSim(SimOptions options)
    : options_(std::move(options)),
      dir_(absolute(options_.dir)),
      podResources_(std::make_unique<PodResourcesServer>()) {}

KubeletSim::~KubeletSim() {
  stop();
}

std::string KubeletSim::socketPath() const {
  return dir_ + "/kubelet.sock";
}

bool KubeletSim::start() {
  std::lock_guard serverLock(serverMutex_);
  if (server_) return true;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return false;
  if (options_.cleanupOnStart) {
    removeSockets();
  } else if (isSocket(socketPath())) {
    ::unlink(socketPath().c_str());
  }
  if (!options_.podResourcesSocket.empty() &&
      !podResources_->start(absolute(options_.podResourcesSocket)))
    return false;

  {
    std::lock_guard lock(mutex_);
    serving_ = true;
  }
  service_ = std::make_unique<RegistrationService>(*this);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + socketPath(), grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxMessage);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_) {
    std::lock_guard lock(mutex_);
    serving_ = false;
    service_.reset();
    podResources_->stop();
    return false;
  }
  if (!options_.pluginsRegistryDir.empty()) {
    watcher_ = std::make_unique<RegistryWatcher>(
        absolute(options_.pluginsRegistryDir),
        [this](const std::string& socket) { return registerSocket(socket); },
        [this](const std::string& socket) { unregisterSocket(socket); });
    if (!watcher_->start()) return false;
  }
  return true;
}

void KubeletSim::closeClient(const std::string& resource, const std::string& registrationSocket) {
  if (options_.oneClientPerName) {
    disconnectRegistered(resource);  // DeRegisterPlugin: getClient(name), whichever socket
    return;
  }
  {
    std::lock_guard lock(mutex_);
    auto it = resources_.find(resource);
    // Only the client this socket registered: a later registration may have replaced it.
    if (it == resources_.end() || !it->second.current ||
        it->second.info.registrationSocket != registrationSocket)
      return;
  }
  dropConnection(resource);
}

std::vector<std::string> KubeletSim::registeredSockets() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> sockets;
  for (const auto& [socket, resource] : registeredSockets_) sockets.push_back(socket);
  return sockets;
}

int KubeletSim::registrationNotices() {
  std::lock_guard lock(mutex_);
  return registrationNotices_;
}

bool KubeletSim::dropConnection(const std::string& resource) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mutex_);
    auto it = resources_.find(resource);
    if (it == resources_.end() || !it->second.current) return false;
    conn = it->second.current;
  }
  // Closed while still current, so its thread reports stream-ended for it.
  conn->close();
  {
    std::lock_guard lock(mutex_);
    auto it = resources_.find(resource);
    if (it != resources_.end() && it->second.current == conn) {
      it->second.current.reset();
      if (it->second.endpoint == conn) it->second.endpoint.reset();
      it->second.info.streaming = false;
      it->second.info.clientRegistered = false;
      it->second.info.allocatable = 0;
    }
    changed_.notify_all();
  }
  return true;  // the last reference goes here: the channel closes
}

void KubeletSim::stop() {
  std::lock_guard serverLock(serverMutex_);
  {
    std::lock_guard lock(mutex_);
    serving_ = false;  // a registration in progress on the watcher's thread gives up
    changed_.notify_all();
  }
  watcher_.reset();  // joins the watcher's thread
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(mutex_);
    registeredSockets_.clear();  // a new kubelet process knows no plugin
    for (auto& [name, state] : resources_) {
      for (auto* conn : {&state.current, &state.endpoint})
        if (*conn && std::find(conns.begin(), conns.end(), *conn) == conns.end())
          conns.push_back(*conn);
      conns.insert(conns.end(), state.forgotten.begin(), state.forgotten.end());
    }
  }
  // Closed while still current, so their threads report stream-ended for them.
  for (auto& conn : conns) conn->close();
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, state] : resources_) {
      state.endpoint.reset();
      state.forgotten.clear();
      if (std::find(conns.begin(), conns.end(), state.current) == conns.end()) continue;
      state.current.reset();
      state.info.streaming = false;
      state.info.clientRegistered = false;
      state.info.allocatable = 0;
    }
    changed_.notify_all();
  }
  conns.clear();  // drops the channels: the plugins see their connections close

  if (server_) {
    // Cancels Register calls in flight; their GetDevicePluginOptions calls are cancelled with
    // them (propagated contexts) and their dial loops see serving_ == false.
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
    service_.reset();
  }
  if (isSocket(socketPath())) ::unlink(socketPath().c_str());
  podResources_->stop();
}

bool KubeletSim::restart() {
  stop();
  removeSockets();
  return start();
}

void KubeletSim::removeSockets() {
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string path = dir_ + "/" + e->d_name;
    if (isSocket(path)) ::unlink(path.c_str());
  }
  ::closedir(d);
}

grpc::Status KubeletSim::handleRegister(grpc::ServerContext* context,
                                        const v1beta1::RegisterRequest& req) {
  const std::string& resource = req.resource_name();
  auto fail = [&](grpc::StatusCode code, const std::string& message) {
    {
      std::lock_guard lock(mutex_);
      registrationErrors_.push_back(message);
      changed_.notify_all();
    }
    if (options_.onRegisterFailed) options_.onRegisterFailed(resource, message);
    return grpc::Status(code, message);
  };

  // Plain Go errors from the handler reach the plugin as UNKNOWN.
  if (req.version() != kVersion)
    return fail(grpc::StatusCode::UNKNOWN,
                "requested API version \"" + req.version() +
                    "\" is not supported by kubelet. Supported versions are [\"v1beta1\"]");
  if (!isExtendedResourceName(resource))
    return fail(grpc::StatusCode::UNKNOWN, "the ResourceName \"" + resource + "\" is invalid");

  // Dial inside the handler, blocking, at most 10 s and never past the Register deadline: the
  // plugin must already be serving while its Register is in flight.
  auto deadline = std::min(std::chrono::system_clock::now() + kDialTimeout, context->deadline());
  if (auto error = connectClient(resource, "unix://" + dir_ + "/" + req.endpoint(), req.endpoint(),
                                 "", deadline, context)) {
    if (error->empty()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "kubelet is stopping");
    return fail(grpc::StatusCode::UNKNOWN, *error);
  }
  return grpc::Status::OK;
}

std::optional<std::string> KubeletSim::connectClient(const std::string& resource,
                                                     const std::string& target,
                                                     const std::string& endpoint,
                                                     const std::string& registrationSocket,
                                                     std::chrono::system_clock::time_point deadline,
                                                     grpc::ServerContext* context) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own connection, like a grpc-go ClientConn
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  args.SetMaxReceiveMessageSize(kMaxMessage);
  args.SetCompressionAlgorithm(GRPC_COMPRESS_NONE);
  args.SetInt(GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET, 1 << GRPC_COMPRESS_NONE);
  if (!options_.authority.empty()) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, options_.authority);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  auto conn = std::make_shared<Connection>(channel, resource);
  if (options_.oneClientPerName) {
    // registerClient, before Connect dials: the client it replaces is neither closed nor told.
    std::lock_guard lock(mutex_);
    ResourceState& state = resources_[resource];
    if (state.current) state.forgotten.push_back(state.current);
    state.current = conn;
    state.info.resource = resource;
    state.info.clientRegistered = true;
    changed_.notify_all();
  }
  pause(options_.connectDelay);
  // Connect failed: deregisterClient(name) drops whatever is registered under the name by now.
  auto deregister = [&](std::string error) {
    if (!options_.oneClientPerName) return error;
    std::lock_guard lock(mutex_);
    ResourceState& state = resources_[resource];
    if (state.current && state.current != conn) state.forgotten.push_back(state.current);
    state.current.reset();
    state.info.clientRegistered = false;
    changed_.notify_all();
    return error;
  };

  while (true) {
    grpc_connectivity_state state = channel->GetState(true);
    if (state == GRPC_CHANNEL_READY) break;
    auto now = std::chrono::system_clock::now();
    bool serving;
    {
      std::lock_guard lock(mutex_);
      serving = serving_;
    }
    if (now >= deadline || (context != nullptr && context->IsCancelled()) || !serving)
      return deregister("failed to dial device plugin: context deadline exceeded");
    // Bounded slices only so that stop() is not held up by a dial in progress.
    channel->WaitForStateChange(state, std::min(deadline, now + std::chrono::milliseconds(50)));
  }

  v1beta1::DevicePluginOptions pluginOptions;
  {
    // Register passes its call's context: its deadline and cancellation carry over. The plugin
    // watcher's context has neither.
    std::unique_ptr<grpc::ClientContext> ctx =
        context != nullptr ? grpc::ClientContext::FromServerContext(*context)
                           : std::make_unique<grpc::ClientContext>();
    grpc::Status s =
        conn->stub().GetDevicePluginOptions(ctx.get(), v1beta1::Empty(), &pluginOptions);
    if (!s.ok())
      return deregister(std::string("failed to get device plugin options: rpc error: code = ") +
                        goCodeName(s.error_code()) + " desc = " + s.error_message());
  }

  std::shared_ptr<Connection> old;
  PluginInfo info;
  {
    std::lock_guard lock(mutex_);
    if (!serving_) return std::string();  // stopping
    ResourceState& state = resources_[resource];
    if (options_.oneClientPerName) {
      // PluginConnected: the manager's endpoint, registered under the name or not any more.
      conn->connected = true;
      state.endpoint = conn;
      if (state.current != conn) state.forgotten.push_back(conn);
    } else {
      old = std::exchange(state.current, conn);
      state.info.clientRegistered = true;
    }
    state.info.resource = resource;
    state.info.endpoint = endpoint;
    state.info.registrationSocket = registrationSocket;
    state.info.options = pluginOptions;
    state.info.registrations++;
    state.info.registeredAt = Clock::now();
    state.info.streaming = true;
    state.info.streamEndCode.reset();
    state.info.streamEndMessage.clear();
    state.updates.clear();
    state.generation++;
    info = state.info;
    changed_.notify_all();
  }
  // A second registration of a resource replaces the first plugin client and its stream.
  if (old) old->close();
  if (options_.onRegistered) options_.onRegistered(info);
  // Like the kubelet's goroutine, the stream may open before the plugin has read our answer.
  conn->startStream(*this);
  return std::nullopt;
}

void KubeletSim::streamUpdate(Connection* conn, DeviceUpdate update) {
  std::string resource;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(resources_.begin(), resources_.end(),
                           [&](const auto& r) { return r.second.current.get() == conn; });
    // v1.34's PluginListAndWatchReceiver takes any client's list for its resource name.
    if (options_.oneClientPerName) it = resources_.find(conn->resource());
    if (it == resources_.end()) return;  // replaced meanwhile
    resource = it->first;
    it->second.updates.push_back(update);
    it->second.info.allocatable = static_cast<int>(
        std::count_if(update.devices.begin(), update.devices.end(),
                      [](const v1beta1::Device& d) { return d.health() == "Healthy"; }));
    changed_.notify_all();
  }
  if (options_.onDevices) options_.onDevices(resource, update);
}

void KubeletSim::streamEnded(Connection* conn, const grpc::Status& status) {
  if (options_.oneClientPerName) {
    // The stream of the client the kubelet calls ended; what the kubelet does about it is
    // runClient's business, below.
    bool endpoint = false;
    {
      std::lock_guard lock(mutex_);
      auto it = resources_.find(conn->resource());
      if (it != resources_.end() && it->second.endpoint.get() == conn &&
          it->second.info.streaming) {
        endpoint = true;
        it->second.info.streaming = false;
        it->second.info.streamEndCode = status.error_code();
        it->second.info.streamEndMessage = status.error_message();
        changed_.notify_all();
      }
    }
    std::string resource = conn->resource();
    if (endpoint && options_.onStreamEnded) options_.onStreamEnded(resource, status);
    pause(options_.runClientDelay);
    // `conn` may be freed in here: the last thing this thread does with it.
    disconnectRegistered(resource);
    return;
  }
  std::string resource;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(resources_.begin(), resources_.end(),
                           [&](const auto& r) { return r.second.current.get() == conn; });
    if (it == resources_.end() || !it->second.info.streaming) return;
    // The kubelet marks every device unhealthy here and never reconnects.
    it->second.info.streaming = false;
    it->second.info.streamEndCode = status.error_code();
    it->second.info.streamEndMessage = status.error_message();
    it->second.info.allocatable = 0;
    it->second.info.clientRegistered = false;
    resource = it->first;
    changed_.notify_all();
  }
  if (options_.onStreamEnded) options_.onStreamEnded(resource, status);
}

void KubeletSim::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, delay, [&] { return !serving_; });
}

void KubeletSim::disconnectRegistered(const std::string& resource) {
  std::shared_ptr<Connection> client;
  {
    std::lock_guard lock(mutex_);
    if (!serving_) return;  // stopping: stop() closes every client
    auto it = resources_.find(resource);
    if (it == resources_.end()) return;
    ResourceState& state = it->second;
    client = std::exchange(state.current, nullptr);
    if (!client) return;  // getClient(name) == nil: nothing is marked
    // deregisterClient, then PluginDisconnected: every device unhealthy.
    state.info.clientRegistered = false;
    state.info.allocatable = 0;
    changed_.notify_all();
    if (!client->connected) return;  // Disconnect closes nothing; Connect goes on regardless
    if (state.endpoint == client) {
      state.endpoint.reset();
      state.info.streaming = false;
    }
  }
  // Disconnect: the client's connection closes (from its own stream's thread too).
  client->close();
}

bool KubeletSim::waitForRegistrations(const std::string& resource, int n,
                                      std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    auto it = resources_.find(resource);
    return it != resources_.end() && it->second.info.registrations >= n;
  });
}

std::optional<DeviceUpdate> KubeletSim::waitForDevices(
    const std::string& resource, std::function<bool(const std::vector<v1beta1::Device>&)> pred,
    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  bool first = true;
  unsigned generation = 0;
  size_t next = 0;
  while (true) {
    auto it = resources_.find(resource);
    if (it != resources_.end()) {
      const ResourceState& state = it->second;
      if (first || state.generation != generation) {
        // The current set counts on the first look; after a re-registration, every update does.
        next = first && !state.updates.empty() ? state.updates.size() - 1 : 0;
        generation = state.generation;
        first = false;
      }
      for (; next < state.updates.size(); ++next)
        if (pred(state.updates[next].devices)) return state.updates[next];
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        Clock::now() >= deadline) {
      // One last look: the notification may have raced with the timeout.
      it = resources_.find(resource);
      if (it != resources_.end() && it->second.generation == generation) {
        const ResourceState& state = it->second;
        for (; next < state.updates.size(); ++next)
          if (pred(state.updates[next].devices)) return state.updates[next];
      }
      return std::nullopt;
    }
  }
}

bool KubeletSim::waitForStreamEnded(const std::string& resource,
                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    auto it = resources_.find(resource);
    return it != resources_.end() && !it->second.info.streaming;
  });
}

std::optional<grpc::Status> KubeletSim::waitForStreamStatus(const std::string& resource,
                                                            std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const PluginInfo* info = nullptr;
  bool ended = changed_.wait_for(lock, timeout, [&] {
    auto it = resources_.find(resource);
    info = it == resources_.end() ? nullptr : &it->second.info;
    return info != nullptr && !info->streaming && info->streamEndCode.has_value();
  });
  if (!ended) return std::nullopt;
  return grpc::Status(*info->streamEndCode, info->streamEndMessage);
}

std::vector<DeviceUpdate> KubeletSim::updates(const std::string& resource) {
  std::lock_guard lock(mutex_);
  auto it = resources_.find(resource);
  return it == resources_.end() ? std::vector<DeviceUpdate>{} : it->second.updates;
}

std::optional<PluginInfo> KubeletSim::plugin(const std::string& resource) {
  std::lock_guard lock(mutex_);
  auto it = resources_.find(resource);
  if (it == resources_.end()) return std::nullopt;
  return it->second.info;
}

std::vector<std::string> KubeletSim::registrationErrors() {
  std::lock_guard lock(mutex_);
  return registrationErrors_;
}

void KubeletSim::setPodResources(v1::ListPodResourcesResponse response) {
  podResources_->set(std::move(response));
}

uint64_t KubeletSim::podResourcesCalls() {
  return podResources_->calls();
}

void KubeletSim::holdPodResources(bool held) {
  podResources_->hold(held);
}

std::shared_ptr<KubeletSim::Connection> KubeletSim::connectionFor(const std::string& resource) {
  std::lock_guard lock(mutex_);
  auto it = resources_.find(resource);
  if (it == resources_.end()) return nullptr;
  return options_.oneClientPerName ? it->second.endpoint : it->second.current;
}

namespace {
grpc::Status noPlugin(const std::string& resource) {
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "kubelet-sim: no plugin connected for resource " + resource};
}
}  // namespace

grpc::Status KubeletSim::allocate(const std::string& resource, const std::vector<std::string>& ids,
                                  v1beta1::AllocateResponse* out) {
  auto conn = connectionFor(resource);
  if (!conn) return noPlugin(resource);
  v1beta1::AllocateRequest req;
  auto* container = req.add_container_requests();
  for (const auto& id : ids) container->add_devices_ids(id);
  grpc::ClientContext ctx;
  return callWithLocalTimeout(ctx, options_.callTimeout, [&](auto done) {
    conn->stub().async()->Allocate(&ctx, &req, out, std::move(done));
  });
}

grpc::Status KubeletSim::getPreferredAllocation(const std::string& resource,
                                                const std::vector<std::string>& available,
                                                const std::vector<std::string>& mustInclude,
                                                int size,
                                                v1beta1::PreferredAllocationResponse* out) {
  auto conn = connectionFor(resource);
  if (!conn) return noPlugin(resource);
  v1beta1::PreferredAllocationRequest req;
  auto* container = req.add_container_requests();
  for (const auto& id : available) container->add_available_deviceids(id);
  for (const auto& id : mustInclude) container->add_must_include_deviceids(id);
  container->set_allocation_size(size);
  grpc::ClientContext ctx;
  return callWithLocalTimeout(ctx, options_.callTimeout, [&](auto done) {
    conn->stub().async()->GetPreferredAllocation(&ctx, &req, out, std::move(done));
  });
}

grpc::Status KubeletSim::preStartContainer(const std::string& resource,
                                           const std::vector<std::string>& ids) {
  auto conn = connectionFor(resource);
  if (!conn) return noPlugin(resource);
  v1beta1::PreStartContainerRequest req;
  for (const auto& id : ids) req.add_devices_ids(id);
  v1beta1::PreStartContainerResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kPreStartTimeout);
  return conn->stub().PreStartContainer(&ctx, req, &resp);
}

grpc::Status KubeletSim::getOptions(const std::string& resource,
                                    v1beta1::DevicePluginOptions* out) {
  auto conn = connectionFor(resource);
  if (!conn) return noPlugin(resource);
  v1beta1::Empty req;
  grpc::ClientContext ctx;
  return callWithLocalTimeout(ctx, options_.callTimeout, [&](auto done) {
    conn->stub().async()->GetDevicePluginOptions(&ctx, &req, out, std::move(done));
  });
}

}  // namespace udp::sim
