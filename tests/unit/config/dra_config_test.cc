// The DRA keys (docs/dra.md): the top-level `dra:` block, each resource's `serve` and
// `deviceFile`, their defaults and their line:column diagnostics.

#include <doctest/doctest.h>

#include <string>

#include "config/config_parser.h"
#include "test_support.h"

using namespace udp::config;
using udp::config::testing::expectConfig;
using udp::config::testing::expectErrors;
using udp::config::testing::lines;

namespace {

constexpr std::string_view kDra = "dra: {driverName: udev.example.com}";

}  // namespace

TEST_CASE("no dra block: no driver, every resource served through the device plugin") {
  Config config = expectConfig(
      lines({"resources:", "  - name: example.com/r", "    match: [{subsystem: tty}]"}));
  CHECK_FALSE(config.dra.has_value());
  REQUIRE(config.resources.size() == 1);
  CHECK(config.resources[0].serve == Serve::kDevicePlugin);
  CHECK(config.resources[0].deviceFile == DeviceFile{});
}

TEST_CASE("the dra block with every key") {
  Config config = expectConfig(lines(
      {"dra:", "  driverName: udev.example.com", "  kubeconfig: /etc/kubernetes/kubelet.conf",
       "  nodeName: node-1.example", "  pluginsRegistryDir: /k/plugins_registry",
       "  pluginDir: /k/plugins", "resources:", "  - name: example.com/zram",
       "    match: [{subsystem: block}]", "    serve: dra",
       "    deviceFile: {uid: 1000, gid: 4294967294, mode: \"0660\"}", "  - name: example.com/loop",
       "    match: [{subsystem: block}]", "    serve: both", "  - name: example.com/tty",
       "    match: [{subsystem: tty}]", "    serve: devicePlugin"}));
  REQUIRE(config.dra.has_value());
  const DraConfig& dra = *config.dra;
  CHECK(dra.driverName == "udev.example.com");
  CHECK(dra.kubeconfig == "/etc/kubernetes/kubelet.conf");
  CHECK(dra.nodeName == "node-1.example");
  CHECK(dra.pluginsRegistryDir == "/k/plugins_registry");
  CHECK(dra.pluginDir == "/k/plugins");
  CHECK(dra.position.line == 2);
  REQUIRE(config.resources.size() == 3);
  CHECK(config.resources[0].serve == Serve::kDra);
  CHECK(config.resources[0].deviceFile == DeviceFile{1000, 4294967294u, 0660});
  CHECK(config.resources[1].serve == Serve::kBoth);
  CHECK(config.resources[1].deviceFile == DeviceFile{});
  CHECK(config.resources[2].serve == Serve::kDevicePlugin);
}

TEST_CASE("the dra block's defaults: in-cluster, node name from the environment") {
  Config config = expectConfig(lines(
      {std::string(kDra), "resources:", "  - {name: example.com/r, match: [{subsystem: tty}]}"}));
  REQUIRE(config.dra.has_value());
  CHECK(config.dra->kubeconfig.empty());
  CHECK(config.dra->nodeName.empty());
  CHECK(config.dra->pluginsRegistryDir == "/var/lib/kubelet/plugins_registry");
  CHECK(config.dra->pluginDir == "/var/lib/kubelet/plugins");
  // Empty strings mean the defaults too.
  config = expectConfig(lines({"dra: {driverName: a.b, kubeconfig: \"\", nodeName: \"\"}",
                               "resources: [{name: example.com/r, match: [{subsystem: tty}]}]"}));
  CHECK(config.dra->kubeconfig.empty());
  CHECK(config.dra->nodeName.empty());
}

TEST_CASE("the driver's registration socket follows the top-level pluginsRegistryDir") {
  // Wherever the top-level key is written, before or after the block.
  Config config =
      expectConfig(lines({std::string(kDra), "pluginsRegistryDir: /k0s/reg",
                          "resources: [{name: example.com/r, match: [{devtype: x}]}]"}));
  CHECK(config.dra->pluginsRegistryDir == "/k0s/reg");
  config = expectConfig(
      lines({"pluginsRegistryDir: /k0s/reg", "dra: {driverName: a.b, pluginsRegistryDir: /other}",
             "resources: [{name: example.com/r, match: [{devtype: x}]}]"}));
  CHECK(config.dra->pluginsRegistryDir == "/other");
}

TEST_CASE("driverName is required and checked as the API server checks it") {
  constexpr std::string_view kResources =
      "resources: [{name: example.com/r, match: [{subsystem: tty}]}]";
  expectErrors(lines({"dra: {kubeconfig: /k}", kResources}),
               {{1, 6, "the 'dra' block needs a 'driverName'"}});
  expectErrors(lines({"dra:", kResources}),
               {{1, 5, "'dra' must be a mapping, not an empty value"}});
  expectErrors(lines({"dra: {driverName: Udev.Example.com}", kResources}),
               {{1, 19, "invalid driver name 'Udev.Example.com': must be lower case"}});
  expectErrors(lines({"dra: {driverName: udev_example.com}", kResources}),
               {{1, 19, "invalid driver name 'udev_example.com': must be a DNS subdomain"}});
  expectErrors(lines({"dra: {driverName: 1udev.example.com}", kResources}),
               {{1, 19, "must start with a letter: it is also the vendor of the claims' CDI"}});
  expectErrors(lines({"dra: {driverName: \"" + std::string(64, 'a') + "\"}", kResources}),
               {{1, 19, "must be at most 63 characters, not 64"}});
  expectErrors(lines({"dra: {driverName: \"\"}", kResources}),
               {{1, 19, "invalid driver name '': must not be empty"}});
  expectErrors(lines({"dra: {driverName: [a]}", kResources}),
               {{1, 19, "'driverName' must be a string, not a list"}});
  expectConfig(lines({"dra: {driverName: \"" + std::string(63, 'a') + "\"}", kResources}));
}

TEST_CASE("the dra block's other keys") {
  constexpr std::string_view kResources =
      "resources: [{name: example.com/r, match: [{subsystem: tty}]}]";
  expectErrors(lines({"dra: {driverName: a.b, kubeconfig: etc/kubeconfig}", kResources}),
               {{1, 36, "'kubeconfig' must be an absolute path"}});
  expectErrors(lines({"dra: {driverName: a.b, nodeName: Node_1}", kResources}),
               {{1, 34, "invalid node name 'Node_1': must be a DNS subdomain, as Node names are"}});
  expectErrors(lines({"dra: {driverName: a.b, pluginDir: plugins}", kResources}),
               {{1, 35, "'pluginDir' must be an absolute path"}});
  expectErrors(lines({"dra: {driverName: a.b, pluginsRegistryDir: /a/../b}", kResources}),
               {{1, 44, "'pluginsRegistryDir' must not contain a '..' component"}});
  expectErrors(lines({"dra: {driverName: a.b, nodename: x}", kResources}),
               {{1, 24,
                 "unknown key 'nodename' in 'dra'; allowed: driverName, kubeconfig, nodeName, "
                 "pluginsRegistryDir, pluginDir"}});
}

TEST_CASE("serve: its three values; dra and both need the dra block, at the serve key") {
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: [{subsystem: tty}]",
                      "    serve: DRA"}),
               {{4, 12, "'serve' must be one of devicePlugin | dra | both, not 'DRA'"}});
  expectErrors(lines({"resources:", "  - name: example.com/a", "    match: [{subsystem: tty}]",
                      "    serve: dra", "  - name: example.com/b", "    match: [{subsystem: x}]",
                      "    serve: both", "  - name: example.com/c", "    match: [{subsystem: y}]",
                      "    serve: devicePlugin"}),
               {{4, 5, "serving a resource through DRA needs a top-level 'dra' block"},
                {7, 5, "serving a resource through DRA needs a top-level 'dra' block"}});
  // A broken block is reported once, as itself.
  expectErrors(lines({"dra: {kubeconfig: /k}", "resources:", "  - name: example.com/a",
                      "    match: [{subsystem: tty}]", "    serve: dra"}),
               {{1, 6, "the 'dra' block needs a 'driverName'"}});
  // The block may come after the resources.
  expectConfig(lines({"resources:", "  - name: example.com/a", "    match: [{subsystem: tty}]",
                      "    serve: dra", std::string(kDra)}));
}

TEST_CASE("a resource served through DRA needs a name its DeviceClass and attribute can carry") {
  auto served = [](std::string_view name, std::string_view serve) {
    return lines({std::string(kDra), "resources:", "  - name: " + std::string(name),
                  "    match: [{subsystem: tty}]", "    serve: " + std::string(serve)});
  };
  expectErrors(served("example.com/My_Dev", "dra"),
               {{3, 11,
                 "resource name 'example.com/My_Dev' gives the DeviceClass name "
                 "'My_Dev.example.com' (<name>.<domain>) when served through DRA, and that must "
                 "be a DNS subdomain"}});
  expectErrors(served("example.com/a..b", "both"),
               {{3, 11, "DeviceClass name 'a..b.example.com'"}});
  // The kubelet takes it; through the device plugin only it stays fine.
  expectConfig(served("example.com/My_Dev", "devicePlugin"));
  std::string longName = "example.com/" + std::string(53, 'x');  // 65 characters
  expectErrors(served(longName, "dra"),
               {{3, 11,
                 "is the devices' 'resource' attribute when served through DRA, and "
                 "attribute values are at most 64 characters, not 65"}});
  expectConfig(served(longName.substr(0, 64), "dra"));
  // An invalid name is reported once, as the kubelet's rule.
  expectErrors(served("nodomain", "dra"), {{3, 11, "invalid resource name 'nodomain'"}});
}

TEST_CASE("two resources served through DRA must not share a DeviceClass name") {
  expectErrors(
      lines({std::string(kDra), "resources:", "  - name: example.com/a.b",
             "    match: [{subsystem: tty}]", "    serve: dra", "  - name: b.example.com/a",
             "    match: [{subsystem: x}]", "    serve: both"}),
      {{6, 11,
        "resource name 'b.example.com/a' gives the DeviceClass name 'a.b.example.com', as "
        "the resource at line 3 does"}});
  // A duplicate name is reported as that, once.
  expectErrors(lines({std::string(kDra), "resources:", "  - name: example.com/a",
                      "    match: [{subsystem: tty}]", "    serve: dra", "  - name: example.com/a",
                      "    match: [{subsystem: x}]", "    serve: dra"}),
               {{6, 11, "duplicate resource name 'example.com/a' (first at line 3)"}});
  // Through the device plugin the second one needs no class.
  expectConfig(lines({std::string(kDra), "resources:", "  - name: example.com/a.b",
                      "    match: [{subsystem: tty}]", "    serve: dra",
                      "  - name: b.example.com/a", "    match: [{subsystem: x}]"}));
}

TEST_CASE("deviceFile: uid, gid and an octal mode") {
  auto withFile = [](std::string_view file, std::string_view more = "    serve: dra") {
    return lines({std::string(kDra), "resources:", "  - name: example.com/r",
                  "    match: [{subsystem: tty}]", std::string(more),
                  "    deviceFile: " + std::string(file)});
  };
  auto fileOf = [](const std::string& text) { return expectConfig(text).resources[0].deviceFile; };
  CHECK(fileOf(withFile("{mode: \"660\"}")) == DeviceFile{std::nullopt, std::nullopt, 0660});
  CHECK(fileOf(withFile("{mode: '0600'}")).mode == 0600);
  CHECK(fileOf(withFile("{mode: 0666}")).mode == 0666);  // unquoted with a 0: octal, as YAML 1.1
  CHECK(fileOf(withFile("{mode: \"000\"}")).mode == 0);
  CHECK(fileOf(withFile("{uid: 0, gid: 0}")) == DeviceFile{0u, 0u, std::nullopt});
  CHECK(fileOf(withFile("{}")) == DeviceFile{});
  // With the device plugin it needs CDI.
  CHECK(fileOf(withFile("{gid: 5}", "    cdi: true")).gid == 5u);

  expectErrors(withFile("{mode: 660}"),
               {{6, 24, "'mode' 660 must be quoted (\"660\") or start with 0 (0660)"}});
  expectErrors(withFile("{mode: \"4755\"}"),
               {{6, 24, "'mode' must be permission bits, at most 0777, not 4755"}});
  expectErrors(withFile("{mode: \"0680\"}"),
               {{6, 24, "'mode' must be an octal string of 3 or 4 digits"}});
  expectErrors(withFile("{mode: \"66\"}"), {{6, 24, "not the quoted string '66'"}});
  expectErrors(withFile("{mode: rw}"), {{6, 24, "not 'rw'"}});
  expectErrors(withFile("{mode: [1]}"), {{6, 24, "not a list"}});
  expectErrors(withFile("{uid: 4294967295}"),
               {{6, 23, "'uid' must be from 0 to 4294967294, not 4294967295"}});
  expectErrors(withFile("{gid: -1}"), {{6, 23, "'gid' must be from 0 to 4294967294, not -1"}});
  expectErrors(withFile("{uid: \"1000\"}"), {{6, 23, "'uid' must be an integer"}});
  expectErrors(withFile("{owner: 1}"),
               {{6, 18, "unknown key 'owner' in 'deviceFile'; allowed: uid, gid, mode"}});
  expectErrors(withFile("[1000]"), {{6, 17, "'deviceFile' must be a mapping, not a list"}});
  expectErrors(withFile("{uid: 1}", "    cdi: false"), {{6, 5, "'deviceFile' has no effect here"}});
}

TEST_CASE("serve and deviceFile are part of what a reload compares") {
  std::string base = lines({std::string(kDra), "resources:", "  - name: example.com/r",
                            "    match: [{subsystem: tty}]"});
  Config plain = expectConfig(base);
  Config viaDra = expectConfig(base + "    serve: dra\n");
  Config withFile = expectConfig(base + "    serve: dra\n    deviceFile: {uid: 7}\n");
  CHECK_FALSE(plain.resources[0] == viaDra.resources[0]);
  CHECK_FALSE(viaDra.resources[0] == withFile.resources[0]);
  CHECK(viaDra.resources[0] == expectConfig(base + "    serve: dra\n").resources[0]);
}
