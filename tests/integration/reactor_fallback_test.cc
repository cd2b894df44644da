// A kernel that refuses io_uring (here: a seccomp filter, as Docker's default profile installs):
// the plugin says why once, runs on epoll, and serves the kubelet as before. Asked for io_uring by
// name, it stops with the cause instead.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "kubelet_sim.h"
#include "plugin_process.h"
#include "scripted_rig.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::testing::binaryFromEnv;
using udp::testing::idsAre;
using udp::testing::PluginProcess;
using udp::testing::ScriptedRig;

namespace {

constexpr const char* kFoo = "example.com/foo";
const char* const kConfig =
    "resources:\n  - name: example.com/foo\n    match: [{subsystem: block}]\n";

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The scripted plugin under deny-io-uring, its stderr in the rig's log.
void startDenied(ScriptedRig& rig, const std::vector<std::string>& extraArgs) {
  std::vector<std::string> args{binaryFromEnv("SCRIPTED_PLUGIN"),
                                "run",
                                "--config",
                                rig.configPath,
                                "--kubelet-dir",
                                rig.dir};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  rig.plugin = std::make_unique<PluginProcess>(binaryFromEnv("DENY_IO_URING"), args, rig.logPath);
}

// Whether this kernel takes seccomp filters from an unprivileged process.
bool seccompFiltersWork() {
  pid_t pid = fork();
  if (pid == 0) {
    sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    sock_fprog program{1, &allow};
    bool ok = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
              prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("io_uring refused: auto falls back to epoll, logs why once, and serves the kubelet") {
  ScriptedRig rig(kConfig, {.captureLog = true});
  startDenied(rig, {});
  REQUIRE(rig.sim->waitForRegistrations(kFoo, 1, 5s));
  REQUIRE(rig.plugin->send("add example.com/foo dev0 devnode=/dev/null"));
  REQUIRE(rig.plugin->send("add example.com/foo dev1 devnode=/dev/zero"));
  REQUIRE(rig.sim->waitForDevices(kFoo, idsAre({"dev0", "dev1"}), 5s));
  v1beta1::AllocateResponse response;
  grpc::Status status = rig.sim->allocate(kFoo, {"dev1"}, &response);
  CHECK_MESSAGE(status.ok(), status.error_message());
  CHECK(response.container_responses_size() == 1);
  REQUIRE(rig.plugin->send("remove example.com/foo dev0"));
  CHECK(rig.sim->waitForDevices(kFoo, idsAre({"dev1"}), 5s));

  // A kubelet restart is served the same way.
  REQUIRE(rig.sim->restart());
  CHECK(rig.sim->waitForRegistrations(kFoo, 2, 5s));
  CHECK(rig.plugin->terminate() == 0);

  std::string log = rig.log();
  INFO("plugin log:\n" << log);
  CHECK(occurrences(log, "io_uring is not available") == 1);
  CHECK(log.find("refused by a seccomp filter") != std::string::npos);
  CHECK(log.find("using epoll instead") != std::string::npos);
  CHECK(log.find("running reactor=epoll") != std::string::npos);
}

TEST_CASE("--reactor=io_uring where io_uring is refused: exit 2 naming the cause") {
  ScriptedRig rig(kConfig, {.captureLog = true});
  startDenied(rig, {"--reactor=io_uring"});
  CHECK(rig.plugin->waitExit(5000) == 2);
  std::string log = rig.log();
  INFO("plugin log:\n" << log);
  CHECK(log.find("io_uring is not available: Operation not permitted (refused by a seccomp "
                 "filter") != std::string::npos);
  CHECK(rig.sim->plugin(kFoo) == std::nullopt);
}

int main(int argc, char** argv) {
  if (!seccompFiltersWork()) {
    std::printf("SKIP: this kernel does not take seccomp filters\n");
    return 77;
  }
  unsetenv("UDP_TEST_REACTOR");  // this test picks the backend itself
  doctest::Context context(argc, argv);
  return context.run();
}
