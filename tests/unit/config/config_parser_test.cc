#include "config/config_parser.h"

#include <doctest/doctest.h>

#include <string>

#include "test_support.h"

using namespace udp::config;
using udp::config::testing::expectConfig;
using udp::config::testing::expectErrors;
using udp::config::testing::lines;

namespace {

// DESIGN.md §2, verbatim.
const std::string kDesignExample = lines({
    "kubeletDir: /var/lib/kubelet/device-plugins      # optional",
    "resources:",
    "  - name: example.com/serial                     # required; validated exactly as the kubelet "
    "does",
    "    match:                                       # a device matches when ANY rule matches,",
    "      - subsystem: tty                           # a rule when ALL its keys match",
    "        kernel: \"ttyUSB*\"                        # glob on the kernel name (sysname)",
    "        # devnode: \"/dev/ttyUSB*\"                # glob on the device node",
    "        # devtype: disk                          # exact",
    "        # driver: \"ftdi_sio\"                     # glob; the device or its nearest parent "
    "with a driver",
    "        properties: {ID_VENDOR_ID: \"0403\"}       # udev properties (uevent + udev db), glob "
    "values",
    "        # attributes: {size: \"*\"}                # sysfs attributes of the device itself",
    "        # parentAttributes: {idVendor: \"0403\"}   # any parent's sysfs attributes (like udev "
    "ATTRS)",
    "    shares: 1              # allocatable units per device (time-slicing); IDs become <id>-<k> "
    "when > 1",
    "    permissions: rw        # DeviceSpec permissions, any of r, w, m",
    "    symlinks: true         # also hand the container the device's /dev/... links (by-id, "
    "by-path)",
    "    containerPath: \"\"      # default: same path as on the host",
    "    mounts: [{hostPath: /sys/class/tty, containerPath: /sys/class/tty, readOnly: true}]",
    "    env: {SERIAL_PORTS: \"{devnodes}\"}            # templates: {ids} {devnodes} {serials} "
    "{resource}",
    "    annotations: {}",
    "    cdi: false             # true: return CDI device names and write a CDI spec for the "
    "resource",
    "    onRemove: drop         # drop (the device leaves the list) | unhealthy (kept, marked "
    "Unhealthy)",
    "    health:                # optional: healthy while this sysfs attribute matches",
    "      attribute: {name: \"online\", healthy: \"1\"}",
    "    preferredAllocation: numa   # none | numa (pack onto the fewest NUMA nodes)",
});

// A valid resource, to which a test appends one key.
std::string resourceWith(std::string_view line) {
  return lines({"resources:", "  - name: example.com/r", "    match: [{subsystem: tty}]", line});
}

}  // namespace

TEST_CASE("the DESIGN.md example parses into the documented values") {
  Config config = expectConfig(kDesignExample);
  CHECK(config.kubeletDir == "/var/lib/kubelet/device-plugins");
  CHECK(config.cdiDir == "/var/run/cdi");
  CHECK(config.udevSource == UdevSource::kAuto);
  REQUIRE(config.resources.size() == 1);
  const Resource& r = config.resources[0];
  CHECK(r.name == "example.com/serial");
  CHECK(r.position.line == 3);
  CHECK(r.position.column == 5);
  REQUIRE(r.match.size() == 1);
  const MatchRule& rule = r.match[0];
  CHECK(rule.subsystem == "tty");
  CHECK(rule.kernel == "ttyUSB*");
  CHECK_FALSE(rule.devnode.has_value());
  CHECK_FALSE(rule.devtype.has_value());
  CHECK_FALSE(rule.driver.has_value());
  CHECK(rule.properties == std::map<std::string, std::string>{{"ID_VENDOR_ID", "0403"}});
  CHECK(rule.attributes.empty());
  CHECK(rule.parentAttributes.empty());
  CHECK(rule.position.line == 5);
  CHECK(rule.position.column == 9);
  CHECK(r.shares == 1);
  CHECK(r.permissions == "rw");
  CHECK(r.symlinks == true);
  CHECK(r.containerPath == "");
  REQUIRE(r.mounts.size() == 1);
  CHECK(r.mounts[0].hostPath == "/sys/class/tty");
  CHECK(r.mounts[0].containerPath == "/sys/class/tty");
  CHECK(r.mounts[0].readOnly == true);
  CHECK(r.env == std::map<std::string, std::string>{{"SERIAL_PORTS", "{devnodes}"}});
  CHECK(r.annotations.empty());
  CHECK(r.cdi == false);
  CHECK(r.onRemove == OnRemove::kDrop);
  REQUIRE(r.health.has_value());
  CHECK(r.health->name == "online");
  CHECK(r.health->healthy == "1");
  CHECK(r.preferredAllocation == PreferredAllocation::kNuma);
}

TEST_CASE("every other value and the defaults") {
  Config config = expectConfig(lines({
      "kubeletDir: /tmp/kubelet",
      "cdiDir: /etc/cdi",
      "udevSource: kernel",
      "resources:",
      "  - name: example.com/disk",
      "    match:",
      "      - devnode: /dev/sd[a-z]",
      "        devtype: disk",
      "        driver: \"sd*\"",
      "        attributes: {size: \"[1-9]*\", removable: 0}",
      "        parentAttributes: {idVendor: 0403, idProduct: \"60[0-9][0-9]\"}",
      "      - kernel: nvme*n1",
      "    shares: 4",
      "    permissions: rwm",
      "    symlinks: no",
      "    containerPath: /dev/disk0",
      "    mounts:",
      "      - hostPath: /run/udev",
      "        containerPath: /run/udev",
      "    env: {DISKS: \"{ids} {devnodes} {serials} {resource}\", JSON: '{\"a\": 1}', X: 5}",
      "    annotations: {example.com/owner: team-a, note: \"{ids}\"}",
      "    cdi: yes",
      "    onRemove: unhealthy",
      "    preferredAllocation: none",
      "  - name: example.com/minimal",
      "    match: [{subsystem: block}]",
      "    shareDevicesWithEarlierResources: yes",
  }));
  CHECK(config.kubeletDir == "/tmp/kubelet");
  CHECK(config.cdiDir == "/etc/cdi");
  CHECK(config.udevSource == UdevSource::kKernel);
  REQUIRE(config.resources.size() == 2);
  const Resource& disk = config.resources[0];
  REQUIRE(disk.match.size() == 2);
  CHECK_FALSE(disk.match[0].subsystem.has_value());
  CHECK_FALSE(disk.match[0].kernel.has_value());
  CHECK(disk.match[0].devnode == "/dev/sd[a-z]");
  CHECK(disk.match[0].devtype == "disk");
  CHECK(disk.match[0].driver == "sd*");
  CHECK(disk.match[0].attributes ==
        std::map<std::string, std::string>{{"size", "[1-9]*"}, {"removable", "0"}});
  CHECK(disk.match[0].parentAttributes ==
        std::map<std::string, std::string>{{"idVendor", "0403"}, {"idProduct", "60[0-9][0-9]"}});
  CHECK(disk.match[1].kernel == "nvme*n1");
  CHECK(disk.match[1].position.line == 12);
  CHECK(disk.match[1].position.column == 9);
  CHECK(disk.shares == 4);
  CHECK(disk.permissions == "rwm");
  CHECK(disk.symlinks == false);
  CHECK(disk.containerPath == "/dev/disk0");
  REQUIRE(disk.mounts.size() == 1);
  CHECK(disk.mounts[0].hostPath == "/run/udev");
  CHECK(disk.mounts[0].containerPath == "/run/udev");
  CHECK(disk.mounts[0].readOnly == false);
  CHECK(disk.env ==
        std::map<std::string, std::string>{{"DISKS", "{ids} {devnodes} {serials} {resource}"},
                                           {"JSON", "{\"a\": 1}"},
                                           {"X", "5"}});
  CHECK(disk.annotations ==
        std::map<std::string, std::string>{{"example.com/owner", "team-a"}, {"note", "{ids}"}});
  CHECK(disk.cdi == true);
  CHECK(disk.onRemove == OnRemove::kUnhealthy);
  CHECK_FALSE(disk.health.has_value());
  CHECK(disk.preferredAllocation == PreferredAllocation::kNone);
  CHECK_FALSE(disk.shareDevicesWithEarlierResources);

  const Resource& minimal = config.resources[1];
  CHECK(minimal.name == "example.com/minimal");
  CHECK(minimal.position.line == 25);
  CHECK(minimal.shares == 1);
  CHECK(minimal.permissions == "rw");
  CHECK(minimal.symlinks == false);
  CHECK(minimal.containerPath.empty());
  CHECK(minimal.mounts.empty());
  CHECK(minimal.env.empty());
  CHECK(minimal.cdi == false);
  CHECK(minimal.onRemove == OnRemove::kDrop);
  CHECK(minimal.preferredAllocation == PreferredAllocation::kNone);
  CHECK(minimal.shareDevicesWithEarlierResources);
}

TEST_CASE("the JSON form parses, tabs and all") {
  Config config = expectConfig(
      "{\n"
      "\t\"kubeletDir\": \"/var/lib/kubelet/device-plugins\",\n"
      "\t\"resources\": [\n"
      "\t\t{\"name\": \"example.com/serial\", \"shares\": 2, \"cdi\": true,\n"
      "\t\t \"match\": [{\"subsystem\": \"tty\", \"properties\": {\"ID_VENDOR_ID\": \"0403\"}}],\n"
      "\t\t \"mounts\": [{\"hostPath\": \"/a\", \"containerPath\": \"/b\", \"readOnly\": false}],\n"
      "\t\t \"health\": {\"attribute\": {\"name\": \"online\", \"healthy\": \"1\"}},\n"
      "\t\t \"env\": {}, \"annotations\": {}}\n"
      "\t]\n"
      "}\n");
  REQUIRE(config.resources.size() == 1);
  const Resource& r = config.resources[0];
  CHECK(r.name == "example.com/serial");
  CHECK(r.position.line == 4);
  CHECK(r.position.column == 3);
  CHECK(r.shares == 2);
  CHECK(r.cdi == true);
  REQUIRE(r.match.size() == 1);
  CHECK(r.match[0].properties.at("ID_VENDOR_ID") == "0403");
  REQUIRE(r.mounts.size() == 1);
  CHECK(r.mounts[0].containerPath == "/b");
  REQUIRE(r.health.has_value());
  CHECK(r.health->healthy == "1");
}

TEST_CASE("booleans: true/false and yes/no in three cases") {
  for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "YES"}) {
    CAPTURE(yes);
    CHECK(expectConfig(resourceWith(std::string("    cdi: ") + yes)).resources[0].cdi == true);
  }
  for (const char* no : {"false", "False", "FALSE", "no", "No", "NO"}) {
    CAPTURE(no);
    CHECK(expectConfig(resourceWith(std::string("    symlinks: ") + no)).resources[0].symlinks ==
          false);
  }
}

TEST_CASE("integers are decimal, with an optional sign and leading zeros") {
  CHECK(expectConfig(resourceWith("    shares: 1000")).resources[0].shares == 1000);
  CHECK(expectConfig(resourceWith("    shares: +7")).resources[0].shares == 7);
  CHECK(expectConfig(resourceWith("    shares: 010")).resources[0].shares == 10);
}

TEST_CASE("an anchor without an alias is harmless") {
  CHECK(expectConfig(resourceWith("    shares: &n 3")).resources[0].shares == 3);
}

TEST_CASE("tagged strings are strings") {
  CHECK(expectConfig(resourceWith("    permissions: !!str rw")).resources[0].permissions == "rw");
}

TEST_CASE("several errors are reported at once, in document order") {
  expectErrors(lines({
                   "kubeletDir: relative",           // 1
                   "resources:",                     // 2
                   "  - name: example.com/ok",       // 3
                   "    shares: 0",                  // 4
                   "    match:",                     // 5
                   "      - kernel: \"tty[\"",       // 6
                   "        color: red",             // 7
                   "  - name: Bad/Name",             // 8
                   "    permissions: rx",            // 9
                   "    onRemove: keep",             // 10
                   "  - name: example.com/ok",       // 11
                   "    match: [{subsystem: tty}]",  // 12
                   "    mounts: [{hostPath: /a}]",   // 13
                   "extra: 1",                       // 14
               }),
               {
                   {1, 13, "'kubeletDir' must be an absolute path"},
                   {4, 13, "'shares' must be from 1 to 1000, not 0"},
                   {6, 17, "'kernel' is not a valid glob"},
                   {7, 9, "unknown key 'color' in a 'match' rule"},
                   {8, 5, "resource 'Bad/Name' needs a 'match' list"},
                   {8, 11, "invalid resource name 'Bad/Name'"},
                   {9, 18, "'permissions' may only contain r, w and m"},
                   {10, 15, "'onRemove' must be one of drop | unhealthy, not 'keep'"},
                   {11, 11, "duplicate resource name 'example.com/ok' (first at line 3)"},
                   {13, 14, "a mount needs a 'containerPath'"},
                   {14, 1, "unknown key 'extra' at the top level"},
               });
}

TEST_CASE("after kMaxDiagnostics errors, one more says how many were left out") {
  std::string text = "resources:\n  - name: example.com/r\n    match: [{subsystem: tty}]\n";
  for (int i = 0; i < 150; ++i) text += "    bad" + std::to_string(i) + ": 1\n";
  ParseOutcome outcome = parseConfig(text);
  REQUIRE(outcome.errors.size() == kMaxDiagnostics + 1);
  CHECK(outcome.errors[0].position.line == 4);
  CHECK(outcome.errors[kMaxDiagnostics - 1].position.line == 103);
  CHECK(outcome.errors.back().position.line == 0);
  CHECK(outcome.errors.back().message == "and 50 more errors; fix these first");
}

TEST_CASE("thousands of errors are counted exactly, though only the first are kept") {
  std::string unknown = "resources:\n  - name: example.com/r\n    match: [{subsystem: tty}]\n";
  for (int i = 0; i < 3000; ++i) unknown += "    bad" + std::to_string(i) + ": 1\n";
  ParseOutcome outcome = parseConfig(unknown);
  REQUIRE(outcome.errors.size() == kMaxDiagnostics + 1);
  CHECK(outcome.errors[0].position.line == 4);
  CHECK(outcome.errors.back().message == "and 2900 more errors; fix these first");

  std::string duplicates = "resources: []\n";
  for (int i = 0; i < 3000; ++i) duplicates += "resources: []\n";
  outcome = parseConfig(duplicates);
  REQUIRE(outcome.errors.size() == kMaxDiagnostics + 1);
  CHECK(outcome.errors[0].position.line == 1);  // 'resources' is empty
  CHECK(outcome.errors[1].position.line == 2);  // the first duplicate
  CHECK(outcome.errors.back().message == "and 2901 more errors; fix these first");
}

TEST_CASE("a text over kMaxConfigBytes is refused before parsing") {
  std::string text = resourceWith("    shares: 1");
  text += "#" + std::string(kMaxConfigBytes, 'x') + "\n";
  ParseOutcome outcome = parseConfig(text);
  CHECK_FALSE(outcome.config.has_value());
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].position.line == 0);
  CHECK(outcome.errors[0].message.find("larger than 1048576 bytes") != std::string::npos);

  std::string atLimit = resourceWith("    shares: 1");
  atLimit += "#" + std::string(kMaxConfigBytes - atLimit.size() - 1, 'x');
  CHECK(atLimit.size() == kMaxConfigBytes);
  CHECK(parseConfig(atLimit).config.has_value());
}

TEST_CASE("formatDiagnostic") {
  CHECK(formatDiagnostic("c.yaml", {{12, 7}, "bad"}) == "c.yaml:12:7: error: bad");
  CHECK(formatDiagnostic("c.yaml", {{0, 0}, "cannot open"}) == "c.yaml: error: cannot open");
}
