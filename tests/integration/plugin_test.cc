// The plugin binary (scripted devices, everything else the product) against the grpc++ kubelet
// simulator: registration, lists, allocation, kubelet restarts and hostile requests.

#include <doctest/doctest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "../support/sanitizers.h"
#include "kubelet_sim.h"
#include "plugin_process.h"
#include "scripted_rig.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::testing::idsAre;
using udp::testing::percentile;
using udp::testing::PluginProcess;
using udp::testing::TempDir;

namespace {

constexpr const char* kFoo = "example.com/foo";
constexpr const char* kBar = "example.com/bar";

const char* const kConfig = R"(resources:
  - name: example.com/foo
    match: [{subsystem: block}]
    preferredAllocation: numa
    env: {FOO_IDS: "{ids}", FOO_NODES: "{devnodes}"}
    mounts: [{hostPath: /sys/class/block, containerPath: /sys/class/block, readOnly: true}]
  - name: example.com/bar
    match: [{subsystem: tty}]
)";

struct Harness : udp::testing::ScriptedRig {
  explicit Harness(std::string authority = "", bool startSim = true)
      : ScriptedRig(kConfig, {.authority = std::move(authority), .startSim = startSim}) {}

  void addBaseDevices() {
    REQUIRE(plugin->send("add example.com/foo dev0 numa=0 devnode=/dev/null serial=S0"));
    REQUIRE(plugin->send("add example.com/foo dev1 numa=1 devnode=/dev/zero serial=S1"));
    REQUIRE(plugin->send("add example.com/foo dev2 numa=1 devnode=/dev/full serial=S2"));
    REQUIRE(plugin->send("add example.com/bar tty0 devnode=/dev/tty"));
  }
};

std::shared_ptr<grpc::Channel> channelTo(const std::string& socket) {
  return grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials());
}

grpc::Status rawUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& payload, grpc::ClientContext& context) {
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(),
      grpc::internal::RpcMethod(method.c_str(), nullptr, grpc::internal::RpcMethod::NORMAL_RPC),
      &context, request, &response);
}

// Connects to a unix socket, writes `bytes`, and reports whether the server closed the
// connection within the timeout (what a bad peer must get, without harm to anyone else).
bool serverClosesAfter(const std::string& socket, const std::string& bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!write(fd, bytes.data(), bytes.size());
  char buf[4096];
  bool closed = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      closed = true;
      break;
    }
    if (n < 0) break;  // timeout: still open
  }
  close(fd);
  return closed;
}

}  // namespace

TEST_CASE("registers every resource and streams its device list as it changes") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  REQUIRE(h.sim->waitForRegistrations(kBar, 1, 5s));
  CHECK(h.sim->registrationErrors().empty());
  // The first list comes at once, even when empty.
  CHECK(h.sim->waitForDevices(kFoo, idsAre({}), 5s));

  h.addBaseDevices();
  auto first = h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s);
  REQUIRE(first);
  for (const auto& d : first->devices) {
    CHECK(d.health() == "Healthy");
    REQUIRE(d.topology().nodes_size() == 1);
    CHECK(d.topology().nodes(0).id() == (d.id() == "dev0" ? 0 : 1));
  }
  CHECK(h.sim->waitForDevices(kBar, idsAre({"tty0"}), 5s));

  size_t before = h.sim->updates(kBar).size();
  REQUIRE(h.plugin->send("remove example.com/foo dev0"));
  CHECK(h.sim->waitForDevices(kFoo, idsAre({"dev1", "dev2"}), 5s));
  REQUIRE(h.plugin->send("add example.com/foo dev2 numa=1 unhealthy devnode=/dev/full"));
  auto unhealthy = h.sim->waitForDevices(
      kFoo,
      [](const auto& devices) {
        return std::any_of(devices.begin(), devices.end(), [](const auto& d) {
          return d.id() == "dev2" && d.health() == "Unhealthy";
        });
      },
      5s);
  CHECK(unhealthy);
  // Changes to one resource send nothing on the other's stream.
  CHECK(h.sim->updates(kBar).size() == before);
  CHECK(h.plugin->terminate() == 0);
}

TEST_CASE("changes made in one turn go out as one message") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({}), 5s));
  size_t before = h.sim->updates(kFoo).size();
  std::string burst;
  for (int i = 0; i < 50; ++i) burst += "add example.com/foo burst" + std::to_string(i) + "\n";
  burst.pop_back();
  REQUIRE(h.plugin->send(burst));  // one write: one read on the plugin side
  auto all = h.sim->waitForDevices(
      kFoo, [](const auto& d) { return d.size() == 50; }, 5s);
  REQUIRE(all);
  CHECK(h.sim->updates(kFoo).size() == before + 1);
}

TEST_CASE("Allocate, GetPreferredAllocation and PreStartContainer answer like a plugin must") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  h.addBaseDevices();
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s));

  v1beta1::DevicePluginOptions options;
  REQUIRE(h.sim->getOptions(kFoo, &options).ok());
  CHECK(options.get_preferred_allocation_available());
  CHECK_FALSE(options.pre_start_required());

  v1beta1::AllocateResponse response;
  grpc::Status status = h.sim->allocate(kFoo, {"dev1", "dev2"}, &response);
  REQUIRE(status.ok());
  REQUIRE(response.container_responses_size() == 1);
  const auto& container = response.container_responses(0);
  REQUIRE(container.devices_size() == 2);
  CHECK(container.devices(0).host_path() == "/dev/zero");
  CHECK(container.devices(0).container_path() == "/dev/zero");
  CHECK(container.devices(0).permissions() == "rw");
  CHECK(container.devices(1).host_path() == "/dev/full");
  CHECK(container.envs().at("FOO_IDS") == "dev1,dev2");
  CHECK(container.envs().at("FOO_NODES") == "/dev/zero,/dev/full");
  REQUIRE(container.mounts_size() == 1);
  CHECK(container.mounts(0).read_only());

  v1beta1::AllocateResponse unused;
  status = h.sim->allocate(kFoo, {"nope"}, &unused);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("nope") != std::string::npos);

  REQUIRE(h.plugin->send("add example.com/foo dev0 numa=0 unhealthy devnode=/dev/null"));
  REQUIRE(h.sim->waitForDevices(
      kFoo, [](const auto& d) { return !d.empty() && d[0].health() == "Unhealthy"; }, 5s));
  status = h.sim->allocate(kFoo, {"dev0"}, &unused);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // Two devices out of three, one on node 0 and two on node 1: both from node 1.
  REQUIRE(h.plugin->send("add example.com/foo dev0 numa=0 devnode=/dev/null"));
  v1beta1::PreferredAllocationResponse preferred;
  status = h.sim->getPreferredAllocation(kFoo, {"dev0", "dev1", "dev2"}, {}, 2, &preferred);
  REQUIRE(status.ok());
  REQUIRE(preferred.container_responses_size() == 1);
  std::vector<std::string> chosen(preferred.container_responses(0).deviceids().begin(),
                                  preferred.container_responses(0).deviceids().end());
  CHECK(chosen == std::vector<std::string>{"dev1", "dev2"});
  // A must-include device stays, and its node is filled first.
  status = h.sim->getPreferredAllocation(kFoo, {"dev0", "dev1", "dev2"}, {"dev0"}, 2, &preferred);
  REQUIRE(status.ok());
  REQUIRE(preferred.container_responses_size() == 1);
  CHECK(preferred.container_responses(0).deviceids(0) == "dev0");
  CHECK(preferred.container_responses(0).deviceids(1) == "dev1");

  CHECK(h.sim->preStartContainer(kFoo, {"dev1"}).ok());
  CHECK(h.sim->preStartContainer(kFoo, {"ghost"}).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("started before the kubelet: waits for kubelet.sock, then registers at once") {
  Harness h("", /*startSim=*/false);
  h.startPlugin();
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(h.sim->plugin(kFoo).has_value());
  CHECK(h.plugin->waitExit(0) == -1);  // still running, not exited for want of a kubelet
  auto started = std::chrono::steady_clock::now();
  REQUIRE(h.sim->start());
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  auto ms = std::chrono::duration<double, std::milli>(h.sim->plugin(kFoo)->registeredAt - started);
  MESSAGE("kubelet.sock appeared → registered: " << ms.count() << " ms");
  CHECK(h.sim->waitForDevices(kFoo, idsAre({}), 5s));
}

TEST_CASE("100 kubelet restarts: registered again after each, no fd or memory growth") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  REQUIRE(h.sim->waitForRegistrations(kBar, 1, 5s));
  h.addBaseDevices();
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s));

  // Warm up so lazily grown buffers are in place before the baseline.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(h.sim->restart());
    REQUIRE(h.sim->waitForRegistrations(kBar, 2 + i, 5s));
  }
  int fdsBefore = h.plugin->openFds();
  long rssBefore = h.plugin->rssKiB();
  std::vector<double> latencies;
  constexpr int kRestarts = 100;
  int registrations = h.sim->plugin(kFoo)->registrations;
  for (int i = 1; i <= kRestarts; ++i) {
    auto start = std::chrono::steady_clock::now();
    REQUIRE(h.sim->restart());
    REQUIRE(h.sim->waitForRegistrations(kFoo, registrations + i, 5s));
    REQUIRE(h.sim->waitForRegistrations(kBar, registrations + i, 5s));
    latencies.push_back(
        std::chrono::duration<double, std::milli>(h.sim->plugin(kFoo)->registeredAt - start)
            .count());
    // The fresh registration streams the current list again.
    REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s));
  }
  std::this_thread::sleep_for(200ms);  // let closed connections be swept
  int fdsAfter = h.plugin->openFds();
  long rssAfter = h.plugin->rssKiB();
  MESSAGE("restart → registered: p50 " << percentile(latencies, 0.5) << " ms, p99 "
                                       << percentile(latencies, 0.99) << " ms, max "
                                       << percentile(latencies, 1.0) << " ms");
  MESSAGE("fds " << fdsBefore << " → " << fdsAfter << ", VmRSS " << rssBefore << " → " << rssAfter
                 << " KiB");
  CHECK(fdsAfter <= fdsBefore);
  if (!udp::testing::kUnderAddressSanitizer) {
    CHECK(rssAfter <= rssBefore + 256);  // page-granular noise, not growth per restart
  }
  CHECK(h.plugin->terminate() == 0);
}

TEST_CASE(":authority as the socket path, as kubelets before 1.26 send it") {
  Harness h(/*authority=*/"/var/lib/kubelet/device-plugins/kubelet.sock");
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  h.addBaseDevices();
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s));
  v1beta1::AllocateResponse response;
  CHECK(h.sim->allocate(kFoo, {"dev0"}, &response).ok());
}

TEST_CASE("bad requests get the right status; the stream and other clients carry on") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  h.addBaseDevices();
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s));
  std::string socket = h.socketOf(kFoo);
  auto channel = channelTo(socket);

  SUBCASE("unknown method") {
    grpc::ClientContext context;
    auto status = rawUnary(channel, "/v1beta1.DevicePlugin/Nope", "", context);
    CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    grpc::ClientContext other;
    status = rawUnary(channel, "/other.Service/Allocate", "", other);
    CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }
  SUBCASE("unparsable protobuf") {
    grpc::ClientContext context;
    auto status = rawUnary(channel, "/v1beta1.DevicePlugin/Allocate", "\xff\xff\xff\xff", context);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SUBCASE("message over 4 MiB") {
    grpc::ClientContext context;
    auto status = rawUnary(channel, "/v1beta1.DevicePlugin/Allocate",
                           std::string(5 * 1024 * 1024, 'x'), context);
    CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  SUBCASE("compressed message") {
    grpc::ClientContext context;
    context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    v1beta1::AllocateRequest request;
    request.add_container_requests()->add_devices_ids(std::string(4096, 'a'));
    auto status =
        rawUnary(channel, "/v1beta1.DevicePlugin/Allocate", request.SerializeAsString(), context);
    CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }
  SUBCASE("not HTTP/2 at all") {
    CHECK(serverClosesAfter(socket, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  SUBCASE("malformed HTTP/2 frame after a valid preface") {
    std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    bytes += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);  // empty SETTINGS
    // A DATA frame on stream 0 is a connection error (PROTOCOL_ERROR).
    bytes += std::string("\x00\x00\x05\x00\x00\x00\x00\x00\x00hello", 14);
    CHECK(serverClosesAfter(socket, bytes));
  }
  SUBCASE("truncated gRPC message") {
    // A DATA frame whose 5-byte prefix announces more than the stream carries before END_STREAM
    // is answered by grpc++ itself; send raw bytes through a second, well-formed connection.
    grpc::ClientContext context;
    auto status = rawUnary(channel, "/v1beta1.DevicePlugin/GetDevicePluginOptions", "", context);
    CHECK(status.ok());
  }

  // The kubelet's connection and stream were not disturbed.
  REQUIRE(h.plugin->send("add example.com/foo dev3 numa=0"));
  CHECK(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2", "dev3"}), 5s));
  v1beta1::AllocateResponse response;
  CHECK(h.sim->allocate(kFoo, {"dev0"}, &response).ok());
  CHECK(h.sim->plugin(kFoo)->streaming);
  CHECK(h.plugin->waitExit(0) == -1);
}

TEST_CASE("SIGTERM ends the streams, removes our sockets and exits 0") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  std::string socket = h.socketOf(kFoo);
  struct stat st;
  REQUIRE(lstat(socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(h.plugin->terminate() == 0);
  CHECK(h.sim->waitForStreamEnded(kFoo, 5s));
  CHECK(lstat(socket.c_str(), &st) != 0);
}

TEST_CASE("a dead kubelet.sock (stale file): retries with backoff, registers when one listens") {
  Harness h("", /*startSim=*/false);
  // A socket file nobody listens on, like one left by a crashed kubelet.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string stale = h.dir + "/kubelet.sock";
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", stale.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  close(fd);

  h.startPlugin();
  std::this_thread::sleep_for(500ms);  // several failed attempts, backing off
  CHECK(h.plugin->waitExit(0) == -1);
  REQUIRE(h.sim->start());  // removes every socket (ours too) and listens on a fresh one
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  CHECK(h.sim->waitForDevices(kFoo, idsAre({}), 5s));
}

TEST_CASE("command line: usage and config errors exit 1, --version exits 0") {
  TempDir tmp;
  std::string binary = udp::testing::binaryFromEnv("SCRIPTED_PLUGIN");
  PluginProcess noConfig(binary, {"run"});
  CHECK(noConfig.waitExit(5000) == 1);
  PluginProcess unknown(binary, {"--config", "x", "--frobnicate"});
  CHECK(unknown.waitExit(5000) == 1);
  tmp.write("bad.yaml", "resources:\n  - name: nodomain\n    match: [{subsystem: tty}]\n");
  PluginProcess badConfig(binary, {"run", "--config", tmp.file("bad.yaml")});
  CHECK(badConfig.waitExit(5000) == 1);
  PluginProcess check(binary, {"check-config", "--config", tmp.file("bad.yaml")});
  CHECK(check.waitExit(5000) == 1);
  PluginProcess missing(binary, {"check-config", "--config", tmp.file("absent.yaml")});
  CHECK(missing.waitExit(5000) == 1);
  PluginProcess version(binary, {"--version"});
  CHECK(version.waitExit(5000) == 0);
}

TEST_CASE("SIGHUP with a broken config keeps the running one; a good one keeps unchanged streams") {
  Harness h;
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  REQUIRE(h.sim->waitForRegistrations(kBar, 1, 5s));
  h.addBaseDevices();
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1", "dev2"}), 5s));

  h.tmp.write("config.yaml", "resources: [this is not valid");
  kill(h.plugin->pid(), SIGHUP);
  std::this_thread::sleep_for(200ms);
  CHECK(h.plugin->waitExit(0) == -1);
  CHECK(h.sim->plugin(kFoo)->registrations == 1);
  CHECK(h.sim->plugin(kFoo)->streaming);

  // bar changes (new permissions), foo does not: only bar registers again.
  std::string changed = kConfig;
  changed += "    permissions: r\n";
  h.tmp.write("config.yaml", changed);
  kill(h.plugin->pid(), SIGHUP);
  REQUIRE(h.sim->waitForRegistrations(kBar, 2, 5s));
  std::this_thread::sleep_for(100ms);
  CHECK(h.sim->plugin(kFoo)->registrations == 1);
  CHECK(h.sim->plugin(kFoo)->streaming);
  v1beta1::AllocateResponse response;
  CHECK(h.sim->allocate(kFoo, {"dev0"}, &response).ok());
  CHECK(h.plugin->terminate() == 0);
}

TEST_CASE("cdi: true writes the resource's CDI spec and Allocate answers with CDI names") {
  Harness h;
  std::string cdiDir = h.tmp.file("cdi");
  h.tmp.write("config.yaml", "cdiDir: " + cdiDir + R"(
resources:
  - name: example.com/foo
    match: [{subsystem: block}]
    cdi: true
)");
  h.startPlugin();
  REQUIRE(h.sim->waitForRegistrations(kFoo, 1, 5s));
  REQUIRE(h.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE(h.sim->waitForDevices(kFoo, idsAre({"dev0"}), 5s));
  std::ifstream in(cdiDir + "/example.com-foo.json");
  std::string spec((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(spec.find(R"("kind":"example.com/foo")") != std::string::npos);
  CHECK(spec.find(R"("name":"dev0")") != std::string::npos);
  CHECK(spec.find(R"("hostPath":"/dev/null")") != std::string::npos);

  v1beta1::AllocateResponse response;
  REQUIRE(h.sim->allocate(kFoo, {"dev0"}, &response).ok());
  REQUIRE(response.container_responses(0).cdi_devices_size() == 1);
  CHECK(response.container_responses(0).cdi_devices(0).name() == "example.com/foo=dev0");
  CHECK(response.container_responses(0).devices_size() == 0);
}
