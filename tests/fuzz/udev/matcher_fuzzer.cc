// libFuzzer target for the device matcher and the config's globs (DESIGN.md §5.6). The input is
// text, one `key=value` per line (the value is everything after the first '=', any bytes but a
// newline), so that seeds read like the config and the device they describe:
//   subsystem= kernel= devnode= devtype= driver=        keys of the current rule
//   property.NAME= attribute.NAME= parent.NAME=          its properties, attributes,
//   parentAttributes or                                                   starts the resource's
//   next rule dev.subsystem= dev.sysname= dev.devnode= dev.devtype= dev.driver= dev.property.NAME=
//   dev.attribute.NAME=                                  a sysfs attribute at the current level
//   dev.parent                                           the next attributes are the parent's
//   dev.noreader                                         the device has no attribute reader
//   glob= text=                                          more strings for the glob checks
// Beyond "no crash", what must hold whatever the input:
//   - a rule without keys matches every device; removing a key from a matching rule keeps it
//     matching; a resource matches exactly when one of its rules does, and never without rules;
//   - the rule written from the device's own values, escaped, matches it;
//   - for strings without NUL: "*" matches everything, "?" exactly one byte, a pattern without
//     metacharacters only itself, "L*" exactly the strings starting with L; an escaped string
//     matches itself and is a valid glob; a glob matches nothing that contains a NUL.
// A violated invariant traps (__builtin_trap), which libFuzzer reports as a crash.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/glob.h"
#include "udev/device_record.h"
#include "udev/matcher.h"

namespace {

using udp::config::MatchRule;
using udp::config::Resource;
using udp::udev::DeviceRecord;
using udp::udev::MapAttributeReader;

// Bounds on the glob checks, which are quadratic in the strings in play.
constexpr std::size_t kMaxGlobStrings = 16;
constexpr std::size_t kMaxRules = 8;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

bool hasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

bool hasMeta(std::string_view s) {
  return s.find_first_of("*?[\\") != std::string_view::npos;
}

// A pattern that matches exactly `text`: every character that means something to fnmatch(3)
// quoted with a backslash.
std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool consumePrefix(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

struct Input {
  std::vector<MatchRule> rules{1};
  DeviceRecord device;
  std::vector<MapAttributeReader::Attributes> levels;
  bool noReader = false;
  std::vector<std::string> patterns;  // for the glob checks
  std::vector<std::string> texts;
};

Input parse(std::string_view text) {
  Input in;
  in.device.syspath = "/sys/devices/fuzz";
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    std::size_t eq = line.find('=');
    std::string_view key = line.substr(0, eq);
    std::string value(eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1));
    MatchRule& rule = in.rules.back();
    DeviceRecord& dev = in.device;
    if (key == "or") {
      if (in.rules.size() < kMaxRules) in.rules.emplace_back();
    } else if (key == "subsystem") {
      rule.subsystem = value;
    } else if (key == "kernel") {
      rule.kernel = value;
    } else if (key == "devnode") {
      rule.devnode = value;
    } else if (key == "devtype") {
      rule.devtype = value;
    } else if (key == "driver") {
      rule.driver = value;
    } else if (consumePrefix(key, "property.")) {
      rule.properties[std::string(key)] = value;
    } else if (consumePrefix(key, "attribute.")) {
      rule.attributes[std::string(key)] = value;
    } else if (consumePrefix(key, "parent.")) {
      rule.parentAttributes[std::string(key)] = value;
    } else if (key == "dev.subsystem") {
      dev.subsystem = value;
    } else if (key == "dev.sysname") {
      dev.sysname = value;
    } else if (key == "dev.devnode") {
      dev.devnode = value;
    } else if (key == "dev.devtype") {
      dev.devtype = value;
    } else if (key == "dev.driver") {
      dev.driver = value;
    } else if (consumePrefix(key, "dev.property.")) {
      dev.properties[std::string(key)] = value;
    } else if (consumePrefix(key, "dev.attribute.")) {
      if (in.levels.empty()) in.levels.emplace_back();
      in.levels.back()[std::string(key)] = value;
    } else if (key == "dev.parent") {
      if (in.levels.empty()) in.levels.emplace_back();
      in.levels.emplace_back();
    } else if (key == "dev.noreader") {
      in.noReader = true;
    } else if (key == "glob") {
      in.patterns.push_back(value);
    } else if (key == "text") {
      in.texts.push_back(value);
    }
  }
  if (!in.noReader) in.device.attributes = std::make_shared<MapAttributeReader>(in.levels);
  return in;
}

void checkGlob(std::string_view pattern, std::string_view text) {
  const bool matched = udp::udev::globMatch(pattern, text);
  (void)udp::config::globError(pattern);
  if (hasNul(pattern) || hasNul(text)) {
    require(!matched);  // documented: a NUL inside either string matches nothing
    return;
  }
  require(udp::udev::globMatch("*", text));
  require(udp::udev::globMatch("?", text) == (text.size() == 1));
  require(udp::udev::globMatch(escaped(text), text));
  require(udp::config::isValidGlob(escaped(text)));
  if (!hasMeta(pattern)) {
    require(matched == (pattern == text));
    require(udp::config::isValidGlob(pattern));
    require(udp::udev::globMatch(std::string(pattern) + "*", text) == text.starts_with(pattern));
  }
}

void checkLooserRulesMatch(const MatchRule& rule, const DeviceRecord& device) {
  auto stillMatches = [&](auto edit) {
    MatchRule looser = rule;
    edit(looser);
    require(udp::udev::matchesRule(looser, device));
  };
  stillMatches([](MatchRule& r) { r.subsystem.reset(); });
  stillMatches([](MatchRule& r) { r.kernel.reset(); });
  stillMatches([](MatchRule& r) { r.devnode.reset(); });
  stillMatches([](MatchRule& r) { r.devtype.reset(); });
  stillMatches([](MatchRule& r) { r.driver.reset(); });
  for (const auto& entry : rule.properties) {
    stillMatches([&](MatchRule& r) { r.properties.erase(entry.first); });
  }
  for (const auto& entry : rule.attributes) {
    stillMatches([&](MatchRule& r) { r.attributes.erase(entry.first); });
  }
  for (const auto& entry : rule.parentAttributes) {
    stillMatches([&](MatchRule& r) { r.parentAttributes.erase(entry.first); });
  }
}

// The rule naming all of the device's own values, escaped, with parentAttributes taken from
// `level`: it must match. Attribute values are taken through the reader, trimmed as the matcher
// sees them.
void checkSelfRule(const Input& in, std::size_t level) {
  const DeviceRecord& device = in.device;
  MatchRule rule;
  rule.subsystem = device.subsystem;
  rule.devtype = device.devtype;
  rule.kernel = escaped(device.sysname);
  if (!device.devnode.empty()) rule.devnode = escaped(device.devnode);
  if (!device.driver.empty()) rule.driver = escaped(device.driver);
  for (const auto& [name, value] : device.properties) rule.properties[name] = escaped(value);
  if (!in.levels.empty() && device.attributes) {
    for (const auto& [name, raw] : in.levels[0]) {
      rule.attributes[name] = escaped(*device.attribute(0, name));
    }
    if (level < in.levels.size()) {
      for (const auto& [name, raw] : in.levels[level]) {
        rule.parentAttributes[name] = escaped(*device.attribute(level, name));
      }
    }
  }
  // libudev's strings cannot hold a NUL, and a glob matches nothing that holds one.
  bool nul = hasNul(*rule.kernel) || (rule.devnode && hasNul(*rule.devnode)) ||
             (rule.driver && hasNul(*rule.driver));
  for (const auto* map : {&rule.properties, &rule.attributes, &rule.parentAttributes}) {
    for (const auto& [name, pattern] : *map) nul = nul || hasNul(pattern);
  }
  if (nul) return;
  require(udp::udev::matchesRule(rule, device));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  const DeviceRecord& device = in.device;

  require(udp::udev::matchesRule(MatchRule{}, device));

  Resource resource;
  require(!udp::udev::matchesResource(resource, device));
  bool anyMatches = false;
  for (const MatchRule& rule : in.rules) {
    bool matches = udp::udev::matchesRule(rule, device);
    if (matches) checkLooserRulesMatch(rule, device);
    anyMatches = anyMatches || matches;
  }
  resource.match = in.rules;
  require(udp::udev::matchesResource(resource, device) == anyMatches);

  for (std::size_t level = 0; level <= in.levels.size(); ++level) checkSelfRule(in, level);

  // The globs on the strings in play: every rule's patterns and extra `glob=` lines against the
  // device's values and extra `text=` lines.
  std::vector<std::string> patterns = in.patterns;
  std::vector<std::string> texts = in.texts;
  for (const MatchRule& rule : in.rules) {
    for (const auto* p : {&rule.kernel, &rule.devnode, &rule.driver}) {
      if (*p) patterns.push_back(**p);
    }
    for (const auto& [name, pattern] : rule.properties) patterns.push_back(pattern);
    for (const auto& [name, pattern] : rule.attributes) patterns.push_back(pattern);
  }
  for (const std::string* t : {&device.sysname, &device.devnode, &device.driver}) {
    texts.push_back(*t);
  }
  for (const auto& [name, value] : device.properties) texts.push_back(value);
  for (std::size_t i = 0; i < patterns.size() && i < kMaxGlobStrings; ++i) {
    for (std::size_t j = 0; j < texts.size() && j < kMaxGlobStrings; ++j) {
      checkGlob(patterns[i], texts[j]);
    }
  }
  return 0;
}
