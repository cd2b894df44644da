#include "dra_kubelet_client.h"

#include <grpcpp/grpcpp.h>

#include "dra.grpc.pb.h"
#include "dra_health.grpc.pb.h"
#include "dra_health_v1alpha1.grpc.pb.h"
#include "dra_v1beta1.grpc.pb.h"
#include "pluginregistration.grpc.pb.h"

namespace udp::sim {
namespace {

namespace drabeta = k8s::io::kubelet::pkg::apis::dra::v1beta1;

DraCallStatus statusOf(const grpc::Status& status) {
  return {static_cast<int>(status.error_code()), status.error_message()};
}

std::shared_ptr<grpc::Channel> channelTo(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  return grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
}

// The same bytes read as another package's message of the same shape.
template <typename To, typename From>
To convert(const From& from) {
  To to;
  to.ParseFromString(from.SerializeAsString());
  return to;
}

}  // namespace

DraCallStatus draGetInfo(const std::string& registrationSocket,
                         pluginregistration::PluginInfo& info) {
  auto stub = pluginregistration::Registration::NewStub(channelTo(registrationSocket));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return statusOf(stub->GetInfo(&ctx, pluginregistration::InfoRequest(), &info));
}

DraCallStatus draNotifyRegistration(const std::string& registrationSocket, bool registered,
                                    const std::string& error) {
  auto stub = pluginregistration::Registration::NewStub(channelTo(registrationSocket));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pluginregistration::RegistrationStatus status;
  status.set_plugin_registered(registered);
  status.set_error(error);
  pluginregistration::RegistrationStatusResponse response;
  return statusOf(stub->NotifyRegistrationStatus(&ctx, status, &response));
}

struct DraKubeletClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<drapb::DRAPlugin::Stub> v1;
  std::unique_ptr<drabeta::DRAPlugin::Stub> v1beta1;
  std::unique_ptr<::v1::DRAResourceHealth::Stub> health;
  std::unique_ptr<::v1alpha1::DRAResourceHealth::Stub> healthAlpha;

  std::mutex mutex;
  std::unique_ptr<grpc::ClientContext> watchContext;
  std::thread watcher;
  std::vector<::v1::NodeWatchResourcesResponse> messages;
  std::optional<DraCallStatus> ended;
};

DraKubeletClient::DraKubeletClient(const std::string& endpoint) : impl_(std::make_unique<Impl>()) {
  impl_->channel = channelTo(endpoint);
  impl_->v1 = drapb::DRAPlugin::NewStub(impl_->channel);
  impl_->v1beta1 = drabeta::DRAPlugin::NewStub(impl_->channel);
  impl_->health = ::v1::DRAResourceHealth::NewStub(impl_->channel);
  impl_->healthAlpha = ::v1alpha1::DRAResourceHealth::NewStub(impl_->channel);
}

DraKubeletClient::~DraKubeletClient() {
  stopWatch();
}

DraCallStatus DraKubeletClient::prepare(const drapb::NodePrepareResourcesRequest& request,
                                        drapb::NodePrepareResourcesResponse& response, bool v1beta1,
                                        std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!v1beta1) return statusOf(impl_->v1->NodePrepareResources(&ctx, request, &response));
  drabeta::NodePrepareResourcesResponse beta;
  auto status = impl_->v1beta1->NodePrepareResources(
      &ctx, convert<drabeta::NodePrepareResourcesRequest>(request), &beta);
  response = convert<drapb::NodePrepareResourcesResponse>(beta);
  return statusOf(status);
}

DraCallStatus DraKubeletClient::unprepare(const drapb::NodeUnprepareResourcesRequest& request,
                                          drapb::NodeUnprepareResourcesResponse& response,
                                          bool v1beta1, std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!v1beta1) return statusOf(impl_->v1->NodeUnprepareResources(&ctx, request, &response));
  drabeta::NodeUnprepareResourcesResponse beta;
  auto status = impl_->v1beta1->NodeUnprepareResources(
      &ctx, convert<drabeta::NodeUnprepareResourcesRequest>(request), &beta);
  response = convert<drapb::NodeUnprepareResourcesResponse>(beta);
  return statusOf(status);
}

void DraKubeletClient::startWatch(bool v1alpha1) {
  stopWatch();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->watchContext = std::make_unique<grpc::ClientContext>();
    impl_->messages.clear();
    impl_->ended.reset();
  }
  grpc::ClientContext* ctx = impl_->watchContext.get();
  impl_->watcher = std::thread([this, ctx, v1alpha1] {
    grpc::Status status;
    if (v1alpha1) {
      auto reader =
          impl_->healthAlpha->NodeWatchResources(ctx, ::v1alpha1::NodeWatchResourcesRequest());
      ::v1alpha1::NodeWatchResourcesResponse message;
      while (reader->Read(&message)) {
        std::lock_guard lock(impl_->mutex);
        impl_->messages.push_back(convert<::v1::NodeWatchResourcesResponse>(message));
      }
      status = reader->Finish();
    } else {
      auto reader = impl_->health->NodeWatchResources(ctx, ::v1::NodeWatchResourcesRequest());
      ::v1::NodeWatchResourcesResponse message;
      while (reader->Read(&message)) {
        std::lock_guard lock(impl_->mutex);
        impl_->messages.push_back(message);
      }
      status = reader->Finish();
    }
    std::lock_guard lock(impl_->mutex);
    impl_->ended = statusOf(status);
  });
}

std::vector<::v1::NodeWatchResourcesResponse> DraKubeletClient::watchMessages() {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

std::optional<DraCallStatus> DraKubeletClient::watchEnded() {
  std::lock_guard lock(impl_->mutex);
  return impl_->ended;
}

void DraKubeletClient::stopWatch() {
  if (!impl_->watcher.joinable()) return;
  impl_->watchContext->TryCancel();
  impl_->watcher.join();
}

}  // namespace udp::sim
