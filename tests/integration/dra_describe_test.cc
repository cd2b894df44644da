// GET /describe of a daemon that runs the DRA driver against Go's stand-in API server
// (tests/support/kubeapi-server): the driver's live section (API connection, the pool's slices
// as acknowledged, prepared claims) validates against docs/describe.schema.json, and a request
// the API server refuses with 403 shows up as rbac.lastDenied until it succeeds again. Serves
// the mem device /dev/null, which every machine has. Without Go the binary exits 77 (SKIP).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "../support/temp_dir.h"
#include "kubeapi_server_process.h"
#include "plugin_process.h"
#include "test_helpers.h"

using namespace std::chrono_literals;
using udp::testing::HttpAnswer;
using udp::testing::KubeApiServer;
using udp::testing::PluginProcess;
using udp::testing::TempDir;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Polls /describe until `part` is in it; the last answer's body either way.
std::string describeOnce(const std::string& socket, const std::string& part) {
  HttpAnswer answer;
  udp::testing::waitFor(
      [&] {
        answer = udp::testing::httpGet(socket, "/describe");
        return answer.status == 200 && contains(answer.body, part);
      },
      10s);
  return answer.body;
}

bool validates(TempDir& tmp, const std::string& record) {
  tmp.write("describe.json", record);
  std::string validate = udp::testing::binaryFromEnv("DESCRIBE_VALIDATOR");
  std::string schema = udp::testing::binaryFromEnv("DESCRIBE_SCHEMA");
  return system(("/usr/bin/python3 " + validate + " --schema " + schema + " " +
                 tmp.file("describe.json"))
                    .c_str()) == 0;
}

}  // namespace

TEST_CASE("/describe of a running DRA driver: its pool as published, and a 403 by name") {
  TempDir tmp;
  std::filesystem::create_directories(tmp.file("api"));
  std::filesystem::create_directories(tmp.file("device-plugins"));
  KubeApiServer server(udp::testing::kubeApiServerBinary(), tmp.file("api"));
  std::string config = "dra:\n  driverName: udev.example.com\n  nodeName: node-1\n";
  config += "  kubeconfig: " + server.file("kubeconfig-token") + "\n";
  config += "  pluginsRegistryDir: " + tmp.file("registry") + "\n";
  config += "  pluginDir: " + tmp.file("plugins") + "\n";
  config += "cdiDir: " + tmp.file("cdi") + "\n";
  config += "resources:\n  - name: example.com/null\n    serve: dra\n";
  config += "    match:\n      - subsystem: mem\n        kernel: \"null\"\n";
  tmp.write("config.yaml", config);
  std::string metrics = tmp.file("metrics.sock");
  PluginProcess plugin(udp::testing::binaryFromEnv("UDEV_DEVICE_PLUGIN"),
                       {"run", "--config", tmp.file("config.yaml"), "--kubelet-dir",
                        tmp.file("device-plugins"), "--metrics-address", "unix:" + metrics});

  std::string record = describeOnce(metrics, R"("published":true)");
  INFO(record);
  CHECK(contains(record, R"("dra":{"driverName":"udev.example.com","nodeName":"node-1",)"));
  CHECK(contains(record, R"("kubeconfig":{"source":"file","path":")" +
                             server.file("kubeconfig-token") + R"("},)"));
  CHECK(contains(record, R"(,"connected":true,"lastError":null},)"));
  CHECK(contains(record, R"("pool":{"name":"node-1","published":true,"generation":1,)"
                         R"("lastError":null,)"
                         R"("slices":[{"name":"node-1-udev-example-com-0","devices":1}]},)"
                         R"("preparedClaims":0,)"));
  CHECK(contains(record, R"("lastDenied":null}})"));
  CHECK(validates(tmp, record));

  // The role loses its reads: the watch, re-made when the server ends it, and the list after
  // it are refused.
  CHECK(server.command("deny GET") == "OK");
  CHECK(server.command("close-watches") == "OK");
  // The watch is refused first, then the list it falls back to: wait for the list's.
  record = describeOnce(metrics, R"("resource":"resourceslices","verb":"list",)");
  CHECK(contains(record, R"("lastDenied":{"apiGroup":"resource.k8s.io",)"
                         R"("resource":"resourceslices","verb":"list",)"
                         R"("path":"/apis/resource.k8s.io/v1/resourceslices",)"
                         R"("message":"GET /apis/resource.k8s.io/v1/resourceslices is forbidden: )"
                         R"(the test's RBAC denies it","at":")"));
  CHECK(contains(record, R"("granted":true}})"));
  CHECK(contains(record, R"("published":false,)"));
  CHECK(validates(tmp, record));

  // Granted again: the next list succeeds, and the denial is gone.
  CHECK(server.command("allow") == "OK");
  record = describeOnce(metrics, R"("lastDenied":null)");
  CHECK(contains(record, R"("lastDenied":null)"));
  record = describeOnce(metrics, R"("published":true)");
  CHECK(contains(record, R"("published":true)"));
  CHECK(plugin.terminate() == 0);
}

int main(int argc, char** argv) {
  return udp::testing::runKubeApiServerTests(argc, argv);
}
