// The reference the benchmarks compare with: a plain grpc++ device plugin, written the way one
// usually is (sync server, one thread blocked per ListAndWatch stream). It uses nothing of src/.
//
//   reference-plugin --kubelet-dir DIR --resource NAME --endpoint FILE [--response FILE]
//
// Serves DevicePlugin on DIR/FILE, then registers NAME on DIR/kubelet.sock (once: it does not
// survive a kubelet restart). Devices come on stdin like the scripted plugin's
// ("add RESOURCE ID ..." / "remove RESOURCE ID"; the resource word is ignored), everything read
// at once applied together. Allocate answers the AllocateResponse serialized in --response
// (the bytes our plugin answered), whatever the request.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "api.grpc.pb.h"
#include "api.pb.h"

namespace {

class Plugin final : public v1beta1::DevicePlugin::Service {
 public:
  explicit Plugin(v1beta1::AllocateResponse response) : response_(std::move(response)) {}

  grpc::Status GetDevicePluginOptions(grpc::ServerContext*, const v1beta1::Empty*,
                                      v1beta1::DevicePluginOptions*) override {
    return grpc::Status::OK;
  }

  grpc::Status ListAndWatch(grpc::ServerContext* context, const v1beta1::Empty*,
                            grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override {
    uint64_t sent = 0;
    for (;;) {
      v1beta1::ListAndWatchResponse message;
      {
        std::unique_lock lock(mutex_);
        // No timeout: a wake-up only when something changed (a dead stream notices at the next
        // change, when its Write fails).
        changed_.wait(lock, [&] { return version_ != sent; });
        sent = version_;
        for (const auto& [id, device] : devices_) *message.add_devices() = device;
      }
      if (context->IsCancelled() || !writer->Write(message)) return grpc::Status::OK;
    }
  }

  grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest*,
                        v1beta1::AllocateResponse* out) override {
    *out = response_;
    return grpc::Status::OK;
  }

  // Applies a batch of script lines as one change.
  void apply(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string verb, resource, id;
      words >> verb >> resource >> id;
      if (verb == "remove") {
        devices_.erase(id);
      } else if (verb == "add") {
        v1beta1::Device device;
        device.set_id(id);
        device.set_health("Healthy");
        std::string word;
        while (words >> word) {
          if (word == "unhealthy") device.set_health("Unhealthy");
          if (word.starts_with("numa="))
            device.mutable_topology()->add_nodes()->set_id(std::stoll(word.substr(5)));
        }
        devices_[id] = std::move(device);
      }
    }
    ++version_;
    changed_.notify_all();
  }

 private:
  const v1beta1::AllocateResponse response_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t version_ = 1;  // streams send the (empty) list at once
  std::map<std::string, v1beta1::Device> devices_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir, resource, endpoint, responsePath;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--kubelet-dir") dir = argv[i + 1];
    if (key == "--resource") resource = argv[i + 1];
    if (key == "--endpoint") endpoint = argv[i + 1];
    if (key == "--response") responsePath = argv[i + 1];
  }
  if (dir.empty() || resource.empty() || endpoint.empty()) {
    std::fprintf(stderr,
                 "usage: reference-plugin --kubelet-dir DIR --resource NAME "
                 "--endpoint FILE [--response FILE]\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  v1beta1::AllocateResponse response;
  if (!responsePath.empty()) {
    std::ifstream in(responsePath, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!response.ParseFromString(bytes.str())) {
      std::fprintf(stderr, "reference-plugin: bad response file %s\n", responsePath.c_str());
      return 1;
    }
  }

  Plugin plugin(std::move(response));
  std::string socket = dir + "/" + endpoint;
  unlink(socket.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&plugin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return 2;

  std::thread reader([&plugin] {
    char buffer[65536];
    std::string pending;
    for (ssize_t n; (n = read(STDIN_FILENO, buffer, sizeof buffer)) > 0;) {
      pending.append(buffer, static_cast<size_t>(n));
      size_t end = pending.rfind('\n');
      if (end == std::string::npos) continue;
      plugin.apply(pending.substr(0, end + 1));
      pending.erase(0, end + 1);
    }
  });
  reader.detach();

  auto channel =
      grpc::CreateChannel("unix://" + dir + "/kubelet.sock", grpc::InsecureChannelCredentials());
  auto stub = v1beta1::Registration::NewStub(channel);
  v1beta1::RegisterRequest request;
  request.set_version("v1beta1");
  request.set_endpoint(endpoint);
  request.set_resource_name(resource);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  context.set_wait_for_ready(true);
  v1beta1::Empty empty;
  grpc::Status status = stub->Register(&context, request, &empty);
  if (!status.ok()) {
    std::fprintf(stderr, "reference-plugin: Register: %s\n", status.error_message().c_str());
    return 2;
  }
  server->Wait();  // until killed
  return 0;
}
