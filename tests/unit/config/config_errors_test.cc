// Each class of config error, with the exact line and column it is reported at.

#include <doctest/doctest.h>

#include <string>

#include "config/config_parser.h"
#include "config/yaml_tree.h"
#include "test_support.h"

using namespace udp::config;
using udp::config::testing::expectErrors;
using udp::config::testing::lines;

namespace {

// A valid resource (lines 1-3), to which a test appends lines from line 4 on.
std::string resourceWith(std::initializer_list<std::string_view> more) {
  std::string text =
      lines({"resources:", "  - name: example.com/r", "    match: [{subsystem: tty}]"});
  for (std::string_view line : more) {
    text += line;
    text += '\n';
  }
  return text;
}

}  // namespace

TEST_CASE("YAML syntax errors carry libyaml's position") {
  expectErrors(lines({"resources: [", "  - a: b"}),
               {{2, 3, "invalid YAML: "}});  // a block entry inside a flow sequence
  expectErrors(lines({"resources:", "  - name: \"example.com/r", "    match: []"}),
               {{4, 1, "invalid YAML: found unexpected end of stream"}});
  expectErrors(lines({"resources:", "  - name: a", " bad: b"}), {{3, 2, "invalid YAML: "}});
}

TEST_CASE("a tab used for indentation is named") {
  expectErrors(lines({"resources:", "\t- name: a"}), {{2, 1, "YAML cannot be indented with tabs"}});
}

TEST_CASE("invalid UTF-8 is reported at its byte") {
  expectErrors(lines({"resources:", "  - name: ex\xff"}),
               {{2, 13, "invalid YAML: invalid leading UTF-8 octet"}});
  expectErrors(lines({"# \xc3\xa4\xc3\xa4", "x: \x01"}), {{2, 4, "invalid YAML: "}});
}

TEST_CASE("only one document") {
  expectErrors(resourceWith({"---", "resources: []"}), {{4, 1, "a config is one YAML document"}});
}

TEST_CASE("aliases are refused where they are used") {
  expectErrors(
      lines({"resources:", "  - &r {name: example.com/a, match: [{subsystem: tty}]}", "  - *r"}),
      {{3, 5, "aliases are not allowed in a config (*r)"}});
}

TEST_CASE("nesting is bounded") {
  std::string deep = "resources: " + std::string(40, '[') + std::string(40, ']') + "\n";
  expectErrors(deep, {{1, 12 + kMaxYamlDepth - 1, "nesting is deeper than 32 levels"}});
}

TEST_CASE("mapping keys are strings") {
  expectErrors(lines({"resources:", "  - {[a]: b}"}),
               {{2, 6, "mapping keys must be plain strings"}});
}

TEST_CASE("duplicate keys point at the second") {
  expectErrors(lines({"resources:", "  - name: example.com/a", "    match: [{subsystem: tty}]",
                      "    name: example.com/b"}),
               {{4, 5, "duplicate key 'name' (first at line 2)"}});
  expectErrors(resourceWith({"    env: {A: x, B: y, A: z}"}),
               {{4, 23, "duplicate key 'A' (first at line 4)"}});
}

TEST_CASE("unsupported tags") {
  expectErrors(resourceWith({"    shares: !!float 1"}),
               {{4, 13, "unsupported YAML tag 'tag:yaml.org,2002:float' on a scalar"}});
  expectErrors(resourceWith({"    env: !custom {}"}),
               {{4, 10, "unsupported YAML tag '!custom' on a mapping"}});
}

TEST_CASE("unknown keys, with the allowed ones") {
  expectErrors(
      lines({"kubeletdir: /x", "resources: [{name: example.com/a, match: [{devnode: x}]}]"}),
      {{1, 1,
        "unknown key 'kubeletdir' at the top level; allowed: kubeletDir, registration, "
        "pluginsRegistryDir, pluginSocketDir, cdiDir, "
        "udevSource, dra, resources"}});
  expectErrors(resourceWith({"    share: 2"}),
               {{4, 5,
                 "unknown key 'share' in a resource; allowed: name, match, shares, permissions, "
                 "symlinks, containerPath, mounts, env, annotations, cdi, onRemove, health, "
                 "preferredAllocation"}});
  expectErrors(lines({"resources:", "  - name: example.com/r",
                      "    match:", "      - {subsystem: tty, vendor: x}"}),
               {{4, 26,
                 "unknown key 'vendor' in a 'match' rule; allowed: subsystem, kernel, devnode, "
                 "devtype, driver, properties, attributes, parentAttributes"}});
  expectErrors(
      resourceWith({"    mounts: [{hostPath: /a, containerPath: /b, ro: true}]"}),
      {{4, 48, "unknown key 'ro' in a mount; allowed: hostPath, containerPath, readOnly"}});
  expectErrors(resourceWith({"    health: {attribute: {name: a, healthy: b}, every: 5s}"}),
               {{4, 48, "unknown key 'every' in 'health'; allowed: attribute"}});
  expectErrors(resourceWith({"    health: {attribute: {name: a, healthy: b, value: c}}"}),
               {{4, 47, "unknown key 'value' in a health 'attribute'; allowed: name, healthy"}});
}

TEST_CASE("wrong types") {
  expectErrors(resourceWith({"    shares: abc"}),
               {{4, 13, "'shares' must be an integer from 1 to 1000, not 'abc'"}});
  expectErrors(resourceWith({"    shares: \"5\""}),
               {{4, 13, "'shares' must be an integer from 1 to 1000, not the quoted string '5'"}});
  expectErrors(resourceWith({"    shares: 1.5"}), {{4, 13, "must be an integer"}});
  expectErrors(resourceWith({"    shares: 0x10"}), {{4, 13, "must be an integer"}});
  expectErrors(resourceWith({"    shares: [1]"}), {{4, 13, "not a list"}});
  expectErrors(resourceWith({"    cdi: maybe"}),
               {{4, 10, "'cdi' must be true or false, not 'maybe'"}});
  expectErrors(resourceWith({"    cdi: \"true\""}),
               {{4, 10, "'cdi' must be true or false, not the quoted string 'true'"}});
  expectErrors(resourceWith({"    symlinks: on"}), {{4, 15, "'symlinks' must be true or false"}});
  expectErrors(resourceWith({"    symlinks: 1"}), {{4, 15, "'symlinks' must be true or false"}});
  expectErrors(resourceWith({"    mounts: [{hostPath: /a, containerPath: /b, readOnly: 1}]"}),
               {{4, 58, "'readOnly' must be true or false, not '1'"}});
  expectErrors(resourceWith({"    permissions: {r: 1}"}),
               {{4, 18, "'permissions' must be a string, not a mapping"}});
  expectErrors(resourceWith({"    containerPath:"}),
               {{4, 19, "'containerPath' must be a string, not an empty value"}});
  expectErrors(resourceWith({"    mounts: {hostPath: /a}"}),
               {{4, 13, "'mounts' must be a list, not a mapping"}});
  expectErrors(resourceWith({"    mounts: [/a]"}),
               {{4, 14, "each entry of 'mounts' must be a mapping, not '/a'"}});
  expectErrors(resourceWith({"    env: [A]"}), {{4, 10, "'env' must be a mapping, not a list"}});
  expectErrors(resourceWith({"    env: {A: {b: c}}"}),
               {{4, 14, "env 'A' must be a string, not a mapping"}});
  expectErrors(resourceWith({"    env: {A: [b]}"}),
               {{4, 14, "env 'A' must be a string, not a list"}});
  expectErrors(resourceWith({"    env: {A: }"}),
               {{4, 14, "env 'A' must be a string, not an empty value"}});
  expectErrors(resourceWith({"    annotations: {a: [b]}"}),
               {{4, 22, "annotation 'a' must be a string, not a list"}});
  expectErrors(resourceWith({"    annotations: x"}), {{4, 18, "'annotations' must be a mapping"}});
  expectErrors(resourceWith({"    health: true"}),
               {{4, 13, "'health' must be a mapping, not 'true'"}});
  expectErrors(resourceWith({"    health: {attribute: online}"}),
               {{4, 25, "'attribute' must be a mapping, not 'online'"}});
  expectErrors(lines({"resources:", "  - name: {a: b}", "    match: [{subsystem: tty}]"}),
               {{2, 11, "'name' must be a string, not a mapping"}});
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: {subsystem: tty}"}),
               {{3, 12, "'match' must be a list, not a mapping"}});
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: [tty]"}),
               {{3, 13, "each 'match' rule must be a mapping, not 'tty'"}});
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: [{subsystem: [a]}]"}),
               {{3, 25, "'subsystem' must be a string, not a list"}});
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: [{properties: [a]}]"}),
               {{3, 26, "'properties' must be a mapping, not a list"}});
  expectErrors(
      lines({"resources:", "  - name: example.com/r", "    match: [{attributes: {a: {}}}]"}),
      {{3, 30, "attribute 'a' must be a string, not a mapping"}});
  expectErrors(lines({"resources: {name: example.com/r}"}),
               {{1, 12, "'resources' must be a list, not a mapping"}});
  expectErrors(lines({"resources: [example.com/r]"}),
               {{1, 13, "each entry of 'resources' must be a mapping, not 'example.com/r'"}});
  expectErrors(
      lines({"kubeletDir: [a]", "resources: [{name: example.com/a, match: [{driver: x}]}]"}),
      {{1, 13, "'kubeletDir' must be a string, not a list"}});
}

TEST_CASE("the top level and the resources list") {
  expectErrors("", {{1, 1, "the config is empty"}});
  expectErrors("# only a comment\n", {{1, 1, "the config is empty"}});
  expectErrors(
      "---\n",
      {{2, 1, "the config must be a mapping with a 'resources' list, not an empty value"}});
  expectErrors("[a]\n",
               {{1, 1, "the config must be a mapping with a 'resources' list, not a list"}});
  expectErrors("kubeletDir: /x\n", {{1, 1, "the config has no 'resources' list"}});
  expectErrors("kubeletDir: /x\nresources: []\n", {{2, 12, "'resources' is empty"}});
  expectErrors("kubeletDir: /x\nresources:\n",
               {{2, 11, "'resources' must be a list, not an empty value"}});
}

TEST_CASE("resource names") {
  expectErrors(lines({"resources:", "  - match: [{subsystem: tty}]"}),
               {{2, 5, "a resource needs a 'name'"}});
  expectErrors(lines({"resources:", "  - {match: [{subsystem: tty}], shares: 2}"}),
               {{2, 5, "a resource needs a 'name'"}});
  struct Case {
    const char* name;
    const char* fragment;
  };
  for (Case c : {
           Case{"serial", "must contain a '/'"},
           Case{"kubernetes.io/serial", "kubernetes.io/"},
           Case{"requests.example.com/serial", "requests."},
           Case{"Example.com/serial", "RFC 1123 subdomain"},
           Case{"example.com/-serial", "letters, digits"},
           Case{"example.com/a/b", "exactly one '/'"},
           Case{"'example.com/'", "must have a name after the '/'"},
       }) {
    CAPTURE(c.name);
    expectErrors(
        lines({"resources:", std::string("  - name: ") + c.name, "    match: [{subsystem: tty}]"}),
        {{2, 11, c.fragment}});
  }
  expectErrors(lines({"resources:", "  - name: \"example.com/" + std::string(64, 'x') + "\"",
                      "    match: [{subsystem: tty}]"}),
               {{2, 11, "at most 63 characters, not 64"}});
}

TEST_CASE("duplicate resource names point at the second and name the first's line") {
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: [{subsystem: tty}]",
                      "  - name: example.com/s", "    match: [{subsystem: tty}]",
                      "  - match: [{subsystem: tty}]", "    name: example.com/r"}),
               {{7, 11, "duplicate resource name 'example.com/r' (first at line 2)"}});
}

TEST_CASE("match lists and rules") {
  expectErrors(lines({"resources:", "  - name: example.com/r", "    shares: 2"}),
               {{2, 5, "resource 'example.com/r' needs a 'match' list, or it matches no device"}});
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match: []"}),
               {{3, 12, "'match' is empty"}});
  expectErrors(lines({"resources:", "  - name: example.com/r", "    match:", "      - {}"}),
               {{4, 9, "a 'match' rule needs at least one key: subsystem, kernel"}});
  expectErrors(
      lines({"resources:", "  - name: example.com/r", "    match:", "      - {subsystem: tty}",
             "      - properties: {}", "        attributes: {}"}),
      {{5, 9, "this 'match' rule has no conditions, so it matches every device"}});
}

TEST_CASE("globs") {
  auto rule = [](std::string_view line) {
    return lines({"resources:", "  - name: example.com/r", "    match:", line});
  };
  expectErrors(
      rule("      - kernel: \"tty[\""),
      {{4, 17, "'kernel' is not a valid glob: '[' at offset 3 has no closing ']' in 'tty['"}});
  expectErrors(rule("      - devnode: '/dev/tty\\'"),
               {{4, 18, "ends with a '\\' that escapes nothing"}});
  expectErrors(rule("      - driver: \"[[:word:]]*\""),
               {{4, 17, "unknown character class '[:word:]'"}});
  expectErrors(rule("      - properties: {ID_MODEL: \"[abc\"}"),
               {{4, 32, "property 'ID_MODEL' is not a valid glob"}});
  expectErrors(rule("      - attributes: {size: \"[\"}"),
               {{4, 28, "attribute 'size' is not a valid glob"}});
  expectErrors(rule("      - parentAttributes: {idVendor: \"04[0\"}"),
               {{4, 38, "attribute 'idVendor' is not a valid glob"}});
  expectErrors(rule("      - properties: {\"\": x}"),
               {{4, 22, "'properties' has an empty property name"}});
  expectErrors(resourceWith({"    health: {attribute: {name: online, healthy: \"[1\"}}"}),
               {{4, 49, "'healthy' is not a valid glob"}});
}

TEST_CASE("shares range") {
  expectErrors(resourceWith({"    shares: 0"}),
               {{4, 13, "'shares' must be from 1 to 1000, not 0"}});
  expectErrors(resourceWith({"    shares: 1001"}), {{4, 13, "not 1001"}});
  expectErrors(resourceWith({"    shares: -1"}), {{4, 13, "not -1"}});
  expectErrors(resourceWith({"    shares: 99999999999999999999999"}),
               {{4, 13, "must be from 1 to 1000"}});
}

TEST_CASE("permissions") {
  expectErrors(resourceWith({"    permissions: \"\""}),
               {{4, 18, "'permissions' must not be empty"}});
  expectErrors(resourceWith({"    permissions: rwx"}),
               {{4, 18, "may only contain r, w and m, not 'rwx'"}});
  expectErrors(resourceWith({"    permissions: R"}), {{4, 18, "may only contain r, w and m"}});
  expectErrors(resourceWith({"    permissions: rwr"}), {{4, 18, "lists 'r' twice in 'rwr'"}});
}

TEST_CASE("paths are absolute, without '..' or NUL") {
  expectErrors(
      resourceWith({"    containerPath: dev/ttyUSB0"}),
      {{4, 20, "'containerPath' must be an absolute path (start with '/'), not 'dev/ttyUSB0'"}});
  expectErrors(resourceWith({"    containerPath: /dev/../etc"}),
               {{4, 20, "'containerPath' must not contain a '..' component"}});
  expectErrors(resourceWith({"    containerPath: \"/dev/a\\0b\""}),
               {{4, 20, "'containerPath' must not contain a NUL character, not '/dev/a\\x00b'"}});
  expectErrors(resourceWith({"    mounts: [{hostPath: sys, containerPath: /sys}]"}),
               {{4, 25, "'hostPath' must be an absolute path"}});
  expectErrors(resourceWith({"    mounts: [{hostPath: /sys/.., containerPath: /sys}]"}),
               {{4, 25, "'hostPath' must not contain a '..' component"}});
  expectErrors(resourceWith({"    mounts: [{hostPath: \"/s\\0\", containerPath: /sys}]"}),
               {{4, 25, "'hostPath' must not contain a NUL character"}});
  expectErrors(resourceWith({"    mounts: [{hostPath: /sys, containerPath: ../sys}]"}),
               {{4, 46, "'containerPath' must be an absolute path"}});
  expectErrors(resourceWith({"    mounts: [{hostPath: /sys, containerPath: \"\"}]"}),
               {{4, 46, "'containerPath' must be an absolute path"}});
  expectErrors(
      resourceWith({"    mounts:", "      - containerPath: /sys", "      - hostPath: /sys"}),
      {{5, 9, "a mount needs a 'hostPath'"}, {6, 9, "a mount needs a 'containerPath'"}});
  expectErrors(lines({"kubeletDir: var/lib/kubelet", "cdiDir: /etc/cdi/..",
                      "resources: [{name: example.com/a, match: [{subsystem: x}]}]"}),
               {{1, 13, "'kubeletDir' must be an absolute path"},
                {2, 9, "'cdiDir' must not contain a '..' component"}});
  expectErrors(
      lines({"cdiDir: \"\"", "resources: [{name: example.com/a, match: [{subsystem: x}]}]"}),
      {{1, 9, "'cdiDir' must be an absolute path"}});
}

TEST_CASE("enumerations") {
  expectErrors(resourceWith({"    onRemove: remove"}),
               {{4, 15, "'onRemove' must be one of drop | unhealthy, not 'remove'"}});
  expectErrors(resourceWith({"    onRemove: Drop"}),
               {{4, 15, "'onRemove' must be one of drop | unhealthy"}});
  expectErrors(resourceWith({"    preferredAllocation: pack"}),
               {{4, 26, "'preferredAllocation' must be one of none | numa, not 'pack'"}});
  expectErrors(
      lines({"udevSource: systemd", "resources: [{name: example.com/a, match: [{subsystem: x}]}]"}),
      {{1, 13, "'udevSource' must be one of auto | udev | kernel, not 'systemd'"}});
}

TEST_CASE("health attribute") {
  expectErrors(resourceWith({"    health: {}"}), {{4, 13, "'health' needs an 'attribute'"}});
  expectErrors(resourceWith({"    health: {attribute: {healthy: \"1\"}}"}),
               {{4, 25, "the health 'attribute' needs a 'name'"}});
  expectErrors(resourceWith({"    health:", "      attribute:", "        name: online"}),
               {{6, 9, "the health 'attribute' needs 'healthy'"}});
  expectErrors(resourceWith({"    health: {attribute: {name: \"\", healthy: \"1\"}}"}),
               {{4, 32, "the health attribute's 'name' must not be empty"}});
}

TEST_CASE("env names and templates") {
  expectErrors(resourceWith({"    env: {1X: a}"}),
               {{4, 11, "env name '1X' is not a valid variable name"}});
  expectErrors(resourceWith({"    env: {MY-VAR: a}"}),
               {{4, 11, "env name 'MY-VAR' is not a valid"}});
  expectErrors(resourceWith({"    env: {\"\": a}"}), {{4, 11, "env name '' is not a valid"}});
  expectErrors(resourceWith({"    env: {A: \"{devices}\"}"}),
               {{4, 14,
                 "env 'A' uses an unknown placeholder '{devices}'; the placeholders are {ids} "
                 "{devnodes} {serials} {resource}"}});
  expectErrors(resourceWith({"    env: {A: \"{ids},{Ids}\"}"}), {{4, 14, "'{Ids}'"}});
  expectErrors(resourceWith({"    annotations: {\"\": a}"}),
               {{4, 19, "an annotation needs a non-empty name"}});
}
