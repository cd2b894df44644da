// deviceclasses: the DeviceClass documents, read back with the config's own YAML reader.

#include "cli/device_classes.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli/check_config.h"
#include "config/config_parser.h"
#include "config/yaml_tree.h"

namespace udp::cli {
namespace {

using config::YamlNode;

config::Config parsed(const std::string& text) {
  config::ParseOutcome outcome = config::parseConfig(text);
  REQUIRE(outcome.errors.empty());
  return *outcome.config;
}

// The documents of a stream that starts each one with "---".
std::vector<YamlNode> documents(const std::string& yaml) {
  std::vector<std::string> texts;
  size_t start = 0;
  while (start < yaml.size()) {
    REQUIRE(yaml.compare(start, 4, "---\n") == 0);
    size_t next = yaml.find("\n---\n", start);
    size_t end = next == std::string::npos ? yaml.size() : next + 1;
    texts.push_back(yaml.substr(start + 4, end - start - 4));
    start = end;
  }
  std::vector<YamlNode> out;
  for (const std::string& text : texts) {
    config::YamlDocument document = config::parseYaml(text);
    INFO(text);
    REQUIRE(document.errors.count() == 0);
    REQUIRE(document.root.has_value());
    out.push_back(*document.root);
  }
  return out;
}

const YamlNode& at(const YamlNode& node, const std::string& key) {
  REQUIRE(node.kind == YamlNode::Kind::kMapping);
  for (const config::YamlEntry& entry : node.entries) {
    if (entry.key == key) return entry.value;
  }
  FAIL("no key ", key);
  return node;
}

bool has(const YamlNode& node, const std::string& key) {
  for (const config::YamlEntry& entry : node.entries) {
    if (entry.key == key) return true;
  }
  return false;
}

const std::string kConfig =
    "dra: {driverName: udev.example.com}\n"
    "resources:\n"
    "  - {name: example.com/zram, match: [{subsystem: block}], serve: dra}\n"
    "  - {name: example.com/tty, match: [{subsystem: tty}]}\n"
    "  - {name: example.com/loop, match: [{subsystem: block}], serve: both}\n"
    "  - {name: 10/1, match: [{subsystem: x}], serve: dra}\n";

}  // namespace

TEST_CASE("the selector: this driver's devices of this resource") {
  CHECK(deviceClassSelector("udev.example.com", "example.com/zram") ==
        "device.driver == \"udev.example.com\" && "
        "device.attributes[\"udev.example.com\"].resource == \"example.com/zram\"");
}

TEST_CASE("one DeviceClass per resource served through DRA, in config order") {
  std::vector<YamlNode> classes = documents(deviceClassesYaml(parsed(kConfig)));
  REQUIRE(classes.size() == 3);
  const char* names[] = {"zram.example.com", "loop.example.com", "1.10"};
  const char* resources[] = {"example.com/zram", "example.com/loop", "10/1"};
  for (size_t i = 0; i < classes.size(); ++i) {
    CAPTURE(i);
    const YamlNode& c = classes[i];
    CHECK(at(c, "apiVersion").text == "resource.k8s.io/v1");
    CHECK(at(c, "kind").text == "DeviceClass");
    CHECK(at(at(c, "metadata"), "name").text == names[i]);
    CHECK(at(at(at(c, "metadata"), "labels"), "app.kubernetes.io/managed-by").text ==
          "udev-device-plugin");
    const YamlNode& selectors = at(at(c, "spec"), "selectors");
    REQUIRE(selectors.items.size() == 1);
    CHECK(at(at(selectors.items[0], "cel"), "expression").text ==
          deviceClassSelector("udev.example.com", resources[i]));
    // Served both ways, the device plugin advertises the extended resource already.
    bool onlyDra = i != 1;
    CHECK(has(at(c, "spec"), "extendedResourceName") == onlyDra);
    if (onlyDra) CHECK(at(at(c, "spec"), "extendedResourceName").text == resources[i]);
  }
  // "1.10" written plain would read back as the number 1.1.
  CHECK(at(at(classes[2], "metadata"), "name").quoted);
  CHECK_FALSE(at(at(classes[0], "metadata"), "name").quoted);
}

TEST_CASE("no resource served through DRA: nothing") {
  CHECK(deviceClassesYaml(parsed("resources: [{name: example.com/r, match: [{subsystem: x}]}]"))
            .empty());
  CHECK(deviceClassesYaml(parsed("dra: {driverName: a.b}\n"
                                 "resources: [{name: example.com/r, match: [{subsystem: x}]}]"))
            .empty());
}

TEST_CASE("check-config explains the driver and how each resource is served") {
  config::Config config = parsed(
      "dra: {driverName: udev.example.com, nodeName: n1}\n"
      "resources:\n"
      "  - {name: example.com/zram, match: [{subsystem: block}], serve: dra,\n"
      "     deviceFile: {uid: 1000, gid: 1000, mode: \"0660\"}}\n"
      "  - {name: example.com/tty, match: [{subsystem: tty}]}\n"
      "  - {name: example.com/loop, match: [{subsystem: block}], serve: both}\n");
  CHECK(explainServing(config) ==
        "  DRA driver udev.example.com on node n1, API server in-cluster\n"
        "    kubelet plugin: /var/lib/kubelet/plugins_registry/udev.example.com-reg.sock, "
        "/var/lib/kubelet/plugins/udev.example.com/dra.sock\n"
        "  example.com/zram: DRA, DeviceClass zram.example.com with extendedResourceName "
        "example.com/zram, device file uid 1000 gid 1000 mode 0660\n"
        "  example.com/tty: device plugin\n"
        "  example.com/loop: device plugin and DRA, DeviceClass loop.example.com\n");
  config = parsed(
      "dra: {driverName: d.io, kubeconfig: /etc/k.conf}\n"
      "resources: [{name: example.com/r, match: [{subsystem: x}], cdi: true,\n"
      "             deviceFile: {mode: \"600\"}}]\n");
  CHECK(explainServing(config) ==
        "  DRA driver d.io on node $NODE_NAME, else the host name, API server from kubeconfig "
        "/etc/k.conf\n"
        "    kubelet plugin: /var/lib/kubelet/plugins_registry/d.io-reg.sock, "
        "/var/lib/kubelet/plugins/d.io/dra.sock\n"
        "  example.com/r: device plugin, device file mode 0600\n");
}

}  // namespace udp::cli
