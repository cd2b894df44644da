// The names the DRA driver writes into Kubernetes objects, and the node it publishes for.

#include "config/dra_names.h"

#include <doctest/doctest.h>

#include <string>

using namespace udp::config;

TEST_CASE("driver names: the API server's rule, lower case, a letter first") {
  for (const char* name : {"udev.example.com", "a", "a-b.c", "gpu.example.com", "x1.y2"}) {
    CAPTURE(name);
    CHECK_FALSE(draDriverNameError(name).has_value());
  }
  CHECK_FALSE(draDriverNameError(std::string(63, 'a')).has_value());
  for (const char* name : {"", "Udev.example.com", "udev_example.com", "udev..example.com",
                           "-udev.example.com", "udev.example.com-", "udev.example.com.",
                           "1udev.example.com", "udev/example", "udev example", "ü.example.com"}) {
    CAPTURE(name);
    CHECK(draDriverNameError(name).has_value());
  }
  CHECK(draDriverNameError(std::string(64, 'a')).value_or("").find("at most 63") !=
        std::string::npos);
}

TEST_CASE("node names: DNS subdomains of at most 253 characters") {
  CHECK_FALSE(nodeNameError("node-1").has_value());
  CHECK_FALSE(nodeNameError("ip-10-0-0-1.ec2.internal").has_value());
  CHECK_FALSE(nodeNameError("1.2.3.4").has_value());
  std::string longest;
  while (longest.size() < 253) longest += longest.empty() ? "a" : ".a";
  CHECK(longest.size() == 253);
  CHECK_FALSE(nodeNameError(longest).has_value());
  CHECK(nodeNameError(longest + "a").value_or("").find("at most 253") != std::string::npos);
  for (const char* name : {"", "Node-1", "node_1", "node-", ".node", "node..1"}) {
    CAPTURE(name);
    CHECK(nodeNameError(name).has_value());
  }
}

TEST_CASE("a resource's DeviceClass is <name>.<domain>") {
  CHECK(deviceClassNameFor("example.com/zram") == "zram.example.com");
  CHECK(deviceClassNameFor("vendor.io/fpga.v2") == "fpga.v2.vendor.io");
  CHECK(deviceClassNameFor("10/1") == "1.10");
}

TEST_CASE("what DRA asks of a resource name beyond the kubelet's rule") {
  CHECK_FALSE(draResourceNameError("example.com/zram").has_value());
  CHECK_FALSE(draResourceNameError("10/1").has_value());
  CHECK(draResourceNameError("example.com/Zram").has_value());
  CHECK(draResourceNameError("example.com/z_ram").has_value());
  CHECK(draResourceNameError("example.com/z.-x").has_value());
  std::string name = "example.com/" + std::string(52, 'z');
  CHECK(name.size() == 64);
  CHECK_FALSE(draResourceNameError(name).has_value());
  CHECK(draResourceNameError(name + "z").value_or("").find("at most 64 characters, not 65") !=
        std::string::npos);
}

TEST_CASE("the node name: config, then NODE_NAME, then the host name") {
  CHECK(resolveNodeName("configured", "env", "host").value() == "configured");
  CHECK(resolveNodeName("", "env-node", "host").value() == "env-node");
  CHECK(resolveNodeName("", std::nullopt, "Host-1.Example.COM").value() == "host-1.example.com");
  CHECK(resolveNodeName("", "", " host\n").value() == "host");  // empty NODE_NAME: not set

  auto failure = [](udp::Result<std::string> result) {
    REQUIRE_FALSE(result.ok());
    return result.error().message;
  };
  // An invalid NODE_NAME is an error, not a reason to publish under the host name.
  CHECK(failure(resolveNodeName("", "Bad_Node", "host"))
            .find("NODE_NAME 'Bad_Node' is not a "
                  "valid node name") != std::string::npos);
  CHECK(failure(resolveNodeName("", std::nullopt, "my_host")).find("the host name 'my_host'") !=
        std::string::npos);
  CHECK(failure(resolveNodeName("", std::nullopt, "  ")).find("no node name") != std::string::npos);
}
