// The registration keys: registration, pluginsRegistryDir, pluginSocketDir
// (docs/plugin-watcher.md), their defaults and their line:column diagnostics.

#include <doctest/doctest.h>

#include <string>

#include "config/config_parser.h"
#include "test_support.h"

using namespace udp::config;
using udp::config::testing::expectConfig;
using udp::config::testing::expectErrors;
using udp::config::testing::lines;

namespace {

constexpr std::string_view kResources =
    "resources: [{name: example.com/r, match: [{subsystem: tty}]}]";

}  // namespace

TEST_CASE("registration defaults to Register on kubelet.sock, with the kubelet's own dirs") {
  Config config = expectConfig(lines({kResources}));
  CHECK(config.registration == RegistrationMode::kKubelet);
  CHECK(config.pluginsRegistryDir == "/var/lib/kubelet/plugins_registry");
  CHECK(config.pluginSocketDir == "/var/lib/kubelet/plugins/udev-device-plugin");
}

TEST_CASE("registration: pluginWatcher with its directories") {
  Config config = expectConfig(
      lines({"registration: pluginWatcher", "pluginsRegistryDir: /tmp/k/plugins_registry",
             "pluginSocketDir: /tmp/k/plugins/udp", kResources}));
  CHECK(config.registration == RegistrationMode::kPluginWatcher);
  CHECK(config.pluginsRegistryDir == "/tmp/k/plugins_registry");
  CHECK(config.pluginSocketDir == "/tmp/k/plugins/udp");

  CHECK(expectConfig(lines({"registration: kubelet", kResources})).registration ==
        RegistrationMode::kKubelet);
}

TEST_CASE("registration accepts only its two values") {
  expectErrors(lines({"registration: pluginwatcher", kResources}),
               {{1, 15, "'registration' must be one of kubelet | pluginWatcher"}});
  expectErrors(lines({"registration: [kubelet]", kResources}),
               {{1, 15, "'registration' must be one of kubelet | pluginWatcher, not a list"}});
}

TEST_CASE("the plugin watcher's directories are absolute paths") {
  expectErrors(lines({"pluginsRegistryDir: var/lib/kubelet/plugins_registry",
                      "pluginSocketDir: /var/lib/../x", kResources}),
               {{1, 21, "'pluginsRegistryDir' must be an absolute path"},
                {2, 18, "'pluginSocketDir' must not contain a '..' component"}});
  expectErrors(lines({"pluginSocketDir: \"\"", kResources}),
               {{1, 18, "'pluginSocketDir' must be an absolute path"}});
  expectErrors(lines({"pluginsRegistryDir: {a: b}", kResources}),
               {{1, 21, "'pluginsRegistryDir' must be a string, not a mapping"}});
}

TEST_CASE("the device-plugin sockets stay out of plugins_registry and the kubelet's dir") {
  expectErrors(lines({"registration: pluginWatcher", "pluginsRegistryDir: /k/reg",
                      "pluginSocketDir: /k/reg/", kResources}),
               {{3, 18, "'pluginSocketDir' must not be 'pluginsRegistryDir'"}});
  // Reported at the later of the two keys, whichever it is.
  expectErrors(lines({"registration: pluginWatcher", "pluginSocketDir: /k/dp", "kubeletDir: /k/dp",
                      kResources}),
               {{3, 13, "'pluginSocketDir' must not be 'kubeletDir'"}});
  // The default socket dir, named as the registry.
  expectErrors(
      lines({"registration: pluginWatcher",
             "pluginsRegistryDir: /var/lib/kubelet/plugins/udev-device-plugin", kResources}),
      {{2, 21, "'pluginSocketDir' must not be 'pluginsRegistryDir'"}});
  // With Register on kubelet.sock the directories are not used.
  expectConfig(lines({"pluginsRegistryDir: /k/reg", "pluginSocketDir: /k/reg", kResources}));
}
