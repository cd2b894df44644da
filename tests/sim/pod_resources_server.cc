#include "pod_resources_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <grpcpp/grpcpp.h>

#include "podresources.grpc.pb.h"

namespace udp::sim {
namespace {

bool isSocket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

class PodResourcesServer::Service final : public v1::PodResourcesLister::Service {
 public:
  explicit Service(PodResourcesServer& server) : server_(server) {}

  grpc::Status List(grpc::ServerContext* context, const v1::ListPodResourcesRequest*,
                    v1::ListPodResourcesResponse* response) override {
    std::unique_lock lock(server_.mutex_);
    ++server_.calls_;
    const auto deadline = context->deadline();
    server_.lastTimeLeft_ = deadline == std::chrono::system_clock::time_point::max()
                                ? std::chrono::milliseconds(-1)
                                : std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::system_clock::now());
    // grpc++ signals a client's cancel only through IsCancelled(), hence the bounded waits.
    while (server_.held_ && !context->IsCancelled()) {
      server_.released_.wait_for(lock, std::chrono::milliseconds(5));
    }
    if (context->IsCancelled()) {
      ++server_.abandoned_;
      return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    *response = server_.content_;
    return grpc::Status::OK;
  }

 private:
  PodResourcesServer& server_;
};

PodResourcesServer::PodResourcesServer() = default;

PodResourcesServer::~PodResourcesServer() {
  stop();
}

bool PodResourcesServer::start(const std::string& path) {
  std::lock_guard serverLock(serverMutex_);
  if (server_) return true;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return false;
  if (isSocket(path)) ::unlink(path.c_str());

  service_ = std::make_unique<Service>(*this);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_) {
    service_.reset();
    return false;
  }
  path_ = path;
  return true;
}

void PodResourcesServer::stop() {
  std::lock_guard serverLock(serverMutex_);
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
  service_.reset();
  if (isSocket(path_)) ::unlink(path_.c_str());
}

void PodResourcesServer::set(v1::ListPodResourcesResponse content) {
  std::lock_guard lock(mutex_);
  content_ = std::move(content);
}

void PodResourcesServer::hold(bool held) {
  {
    std::lock_guard lock(mutex_);
    held_ = held;
  }
  released_.notify_all();
}

std::chrono::milliseconds PodResourcesServer::lastTimeLeft() {
  std::lock_guard lock(mutex_);
  return lastTimeLeft_;
}

uint64_t PodResourcesServer::abandoned() {
  std::lock_guard lock(mutex_);
  return abandoned_;
}

uint64_t PodResourcesServer::calls() {
  std::lock_guard lock(mutex_);
  return calls_;
}

}  // namespace udp::sim
