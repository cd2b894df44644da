#include "config/config_parser.h"

#include <map>
#include <utility>

#include "config/config_checks.h"
#include "config/dra_reader.h"
#include "config/node_reader.h"
#include "config/resource_name.h"
#include "config/yaml_tree.h"

namespace udp::config {
namespace {

using Kind = YamlNode::Kind;

constexpr std::string_view kTopKeys[] = {
    "kubeletDir", "registration", "pluginsRegistryDir", "pluginSocketDir", "cdiDir",
    "udevSource", "dra",          "resources"};
constexpr std::string_view kResourceKeys[] = {"name",
                                              "match",
                                              "shares",
                                              "permissions",
                                              "symlinks",
                                              "containerPath",
                                              "mounts",
                                              "env",
                                              "annotations",
                                              "cdi",
                                              "onRemove",
                                              "health",
                                              "preferredAllocation",
                                              "shareDevicesWithEarlierResources",
                                              "serve",
                                              "deviceFile"};
constexpr std::string_view kRuleKeys[] = {"subsystem",  "kernel",          "devnode",
                                          "devtype",    "driver",          "properties",
                                          "attributes", "parentAttributes"};
constexpr std::string_view kMountKeys[] = {"hostPath", "containerPath", "readOnly"};
constexpr std::string_view kHealthKeys[] = {"attribute"};
constexpr std::string_view kAttributeKeys[] = {"name", "healthy"};

// The schema of DESIGN.md §2, walked over the YAML tree.
class Validator : NodeReader {
 public:
  using NodeReader::errors;
  using NodeReader::NodeReader;

  Config config(const YamlNode& root) {
    Config config;
    if (root.kind != Kind::kMapping) {
      error(root.position,
            "the config must be a mapping with a 'resources' list, not " + describe(root));
      return config;
    }
    bool haveResources = false;
    bool haveDra = false;
    for (const YamlEntry& entry : root.entries) {
      const YamlNode& value = entry.value;
      if (entry.key == "kubeletDir") {
        if (auto dir = path(value, "'kubeletDir'", false)) config.kubeletDir = *dir;
        kubeletDirAt_ = value.position;
      } else if (entry.key == "registration") {
        if (auto mode =
                choice<RegistrationMode>(value, "'registration'",
                                         {{"kubelet", RegistrationMode::kKubelet},
                                          {"pluginWatcher", RegistrationMode::kPluginWatcher}})) {
          config.registration = *mode;
        }
      } else if (entry.key == "pluginsRegistryDir") {
        if (auto dir = path(value, "'pluginsRegistryDir'", false)) config.pluginsRegistryDir = *dir;
        registryDirAt_ = value.position;
      } else if (entry.key == "pluginSocketDir") {
        if (auto dir = path(value, "'pluginSocketDir'", false)) config.pluginSocketDir = *dir;
        socketDirAt_ = value.position;
      } else if (entry.key == "cdiDir") {
        if (auto dir = path(value, "'cdiDir'", false)) config.cdiDir = *dir;
      } else if (entry.key == "udevSource") {
        if (auto source = choice<UdevSource>(value, "'udevSource'",
                                             {{"auto", UdevSource::kAuto},
                                              {"udev", UdevSource::kUdev},
                                              {"kernel", UdevSource::kKernel}})) {
          config.udevSource = *source;
        }
      } else if (entry.key == "dra") {
        haveDra = true;
        config.dra = readDraConfig(*this, value);
      } else if (entry.key == "resources") {
        haveResources = true;
        resources(value, config);
      } else {
        unknownKey(entry, "at the top level", kTopKeys);
      }
    }
    if (!haveResources) error(root.position, "the config has no 'resources' list");
    draChecks_.finish(*this, haveDra);
    // Both registration sockets go where the kubelet's plugin watcher looks, unless told apart.
    if (config.dra && config.dra->pluginsRegistryDir.empty()) {
      config.dra->pluginsRegistryDir = config.pluginsRegistryDir;
    }
    if (config.registration == RegistrationMode::kPluginWatcher) checkPluginWatcherDirs(config);
    return config;
  }

 private:
  // The device-plugin sockets may share neither the kubelet's device-plugin directory (a
  // starting kubelet deletes every socket in it) nor plugins_registry (the kubelet would dial
  // them as registration sockets, and our device-plugin sockets answer no GetInfo).
  void checkPluginWatcherDirs(const Config& config) {
    std::string_view socketDir = withoutTrailingSlashes(config.pluginSocketDir);
    // Reported where the user wrote the later of the two keys: that is what to change.
    auto at = [&](SourcePosition other) {
      return socketDirAt_.line > other.line ? socketDirAt_ : other;
    };
    if (socketDir == withoutTrailingSlashes(config.pluginsRegistryDir)) {
      error(at(registryDirAt_),
            "'pluginSocketDir' must not be 'pluginsRegistryDir': the kubelet dials every socket "
            "there as a registration socket");
    } else if (socketDir == withoutTrailingSlashes(config.kubeletDir)) {
      error(at(kubeletDirAt_),
            "'pluginSocketDir' must not be 'kubeletDir' with registration: pluginWatcher: a "
            "starting kubelet deletes every socket there");
    }
  }

  static std::string_view withoutTrailingSlashes(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    return path;
  }

  void resources(const YamlNode& node, Config& config) {
    if (!isSequence(node, "'resources'")) return;
    if (node.items.empty()) {
      error(node.position, "'resources' is empty: list at least one resource");
      return;
    }
    for (const YamlNode& item : node.items) {
      Resource parsed = resource(item);
      // With errors the config is dropped anyway; not keeping it bounds the memory a hostile
      // megabyte of "{}, {}, ..." can take.
      if (errorCount() == 0) config.resources.push_back(std::move(parsed));
    }
  }

  Resource resource(const YamlNode& node) {
    Resource resource;
    resource.position = node.position;
    if (!isMapping(node, "each entry of 'resources'")) return resource;
    bool haveName = false;
    bool haveMatch = false;
    DraKeyPositions draAt;
    for (const YamlEntry& entry : node.entries) {
      const YamlNode& value = entry.value;
      const std::string& key = entry.key;
      if (key == "name") {
        haveName = true;
        draAt.name = value.position;
        if (auto name = string(value, "'name'")) {
          resource.name = *name;
          draAt.nameValid = checkResourceName(value);
        }
      } else if (key == "match") {
        haveMatch = true;
        matchRules(value, resource);
      } else if (key == "shares") {
        if (auto shares = integer(value, "'shares'", 1, 1000)) resource.shares = *shares;
      } else if (key == "permissions") {
        if (auto permissions = string(value, "'permissions'")) {
          if (auto problem = permissionsError(*permissions)) {
            error(value.position, "'permissions' " + *problem);
          } else {
            resource.permissions = *permissions;
          }
        }
      } else if (key == "symlinks") {
        if (auto symlinks = boolean(value, "'symlinks'")) resource.symlinks = *symlinks;
      } else if (key == "containerPath") {
        if (auto path = this->path(value, "'containerPath'", true)) resource.containerPath = *path;
      } else if (key == "mounts") {
        mounts(value, resource);
      } else if (key == "env") {
        env(value, resource);
      } else if (key == "annotations") {
        annotations(value, resource);
      } else if (key == "cdi") {
        if (auto cdi = boolean(value, "'cdi'")) resource.cdi = *cdi;
      } else if (key == "onRemove") {
        if (auto onRemove = choice<OnRemove>(
                value, "'onRemove'",
                {{"drop", OnRemove::kDrop}, {"unhealthy", OnRemove::kUnhealthy}})) {
          resource.onRemove = *onRemove;
        }
      } else if (key == "health") {
        resource.health = health(value);
      } else if (key == "preferredAllocation") {
        if (auto preferred = choice<PreferredAllocation>(
                value, "'preferredAllocation'",
                {{"none", PreferredAllocation::kNone}, {"numa", PreferredAllocation::kNuma}})) {
          resource.preferredAllocation = *preferred;
        }
      } else if (key == "shareDevicesWithEarlierResources") {
        if (auto share = boolean(value, "'shareDevicesWithEarlierResources'")) {
          resource.shareDevicesWithEarlierResources = *share;
        }
      } else if (key == "serve") {
        draAt.serveKey = entry.keyPosition;
        if (auto serve = readServe(*this, value)) resource.serve = *serve;
      } else if (key == "deviceFile") {
        draAt.deviceFileKey = entry.keyPosition;
        if (auto file = readDeviceFile(*this, value)) resource.deviceFile = *file;
      } else {
        unknownKey(entry, "in a resource", kResourceKeys);
      }
    }
    draChecks_.resource(*this, resource, draAt);
    if (!haveName) error(node.position, "a resource needs a 'name'");
    if (!haveMatch) {
      error(node.position, "resource " + (haveName ? quote(resource.name) + " " : std::string()) +
                               "needs a 'match' list, or it matches no device");
    }
    return resource;
  }

  // Whether the name is one the kubelet accepts and the first of its name: the checks that build
  // on it then report nothing twice.
  bool checkResourceName(const YamlNode& node) {
    if (auto problem = resourceNameError(node.text)) {
      error(node.position, "invalid resource name " + quote(node.text) + ": " + *problem);
      return false;
    }
    auto [it, inserted] = resourceNames_.try_emplace(node.text, node.position);
    if (!inserted) {
      error(node.position, "duplicate resource name " + quote(node.text) + " (first at line " +
                               std::to_string(it->second.line) + ")");
    }
    return inserted;
  }

  void matchRules(const YamlNode& node, Resource& resource) {
    if (!isSequence(node, "'match'")) return;
    if (node.items.empty()) {
      error(node.position, "'match' is empty: list at least one rule, or no device matches");
      return;
    }
    for (const YamlNode& item : node.items) {
      if (auto rule = matchRule(item)) resource.match.push_back(std::move(*rule));
    }
  }

  std::optional<MatchRule> matchRule(const YamlNode& node) {
    if (!isMapping(node, "each 'match' rule")) return std::nullopt;
    if (node.entries.empty()) {
      error(node.position, "a 'match' rule needs at least one key: " + join(kRuleKeys));
      return std::nullopt;
    }
    MatchRule rule;
    rule.position = node.position;
    std::size_t errorsBefore = errorCount();
    for (const YamlEntry& entry : node.entries) {
      const YamlNode& value = entry.value;
      const std::string& key = entry.key;
      if (key == "subsystem") {
        rule.subsystem = string(value, "'subsystem'");
      } else if (key == "kernel") {
        rule.kernel = glob(value, "'kernel'");
      } else if (key == "devnode") {
        rule.devnode = glob(value, "'devnode'");
      } else if (key == "devtype") {
        rule.devtype = string(value, "'devtype'");
      } else if (key == "driver") {
        rule.driver = glob(value, "'driver'");
      } else if (key == "properties") {
        rule.properties = globMap(value, "'properties'", "property");
      } else if (key == "attributes") {
        rule.attributes = globMap(value, "'attributes'", "attribute");
      } else if (key == "parentAttributes") {
        rule.parentAttributes = globMap(value, "'parentAttributes'", "attribute");
      } else {
        unknownKey(entry, "in a 'match' rule", kRuleKeys);
      }
    }
    bool empty = !rule.subsystem && !rule.kernel && !rule.devnode && !rule.devtype &&
                 !rule.driver && rule.properties.empty() && rule.attributes.empty() &&
                 rule.parentAttributes.empty();
    if (empty && errorCount() == errorsBefore) {
      error(node.position, "this 'match' rule has no conditions, so it matches every device");
    }
    return rule;
  }

  std::map<std::string, std::string> globMap(const YamlNode& node, std::string_view what,
                                             std::string_view item) {
    std::map<std::string, std::string> out;
    if (!isMapping(node, what)) return out;
    for (const YamlEntry& entry : node.entries) {
      if (entry.key.empty()) {
        error(entry.keyPosition,
              std::string(what) + " has an empty " + std::string(item) + " name");
        continue;
      }
      if (auto pattern = glob(entry.value, std::string(item) + " " + quote(entry.key))) {
        out.emplace(entry.key, *pattern);
      }
    }
    return out;
  }

  void mounts(const YamlNode& node, Resource& resource) {
    if (!isSequence(node, "'mounts'")) return;
    for (const YamlNode& item : node.items) {
      if (!isMapping(item, "each entry of 'mounts'")) continue;
      Mount mount;
      bool haveHost = false;
      bool haveContainer = false;
      for (const YamlEntry& entry : item.entries) {
        const YamlNode& value = entry.value;
        if (entry.key == "hostPath") {
          haveHost = true;
          if (auto path = this->path(value, "'hostPath'", false)) mount.hostPath = *path;
        } else if (entry.key == "containerPath") {
          haveContainer = true;
          if (auto path = this->path(value, "'containerPath'", false)) mount.containerPath = *path;
        } else if (entry.key == "readOnly") {
          if (auto readOnly = boolean(value, "'readOnly'")) mount.readOnly = *readOnly;
        } else {
          unknownKey(entry, "in a mount", kMountKeys);
        }
      }
      if (!haveHost) error(item.position, "a mount needs a 'hostPath'");
      if (!haveContainer) error(item.position, "a mount needs a 'containerPath'");
      resource.mounts.push_back(std::move(mount));
    }
  }

  void env(const YamlNode& node, Resource& resource) {
    if (!isMapping(node, "'env'")) return;
    for (const YamlEntry& entry : node.entries) {
      if (!isEnvVarName(entry.key)) {
        error(entry.keyPosition, "env name " + quote(entry.key) +
                                     " is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      std::string what = "env " + quote(entry.key);
      auto value = string(entry.value, what);
      if (!value) continue;
      if (auto problem = templateError(*value)) {
        error(entry.value.position, what + " " + *problem);
        continue;
      }
      resource.env.emplace(entry.key, *value);
    }
  }

  void annotations(const YamlNode& node, Resource& resource) {
    if (!isMapping(node, "'annotations'")) return;
    for (const YamlEntry& entry : node.entries) {
      if (entry.key.empty()) error(entry.keyPosition, "an annotation needs a non-empty name");
      if (auto value = string(entry.value, "annotation " + quote(entry.key))) {
        resource.annotations.emplace(entry.key, *value);
      }
    }
  }

  std::optional<HealthAttribute> health(const YamlNode& node) {
    if (!isMapping(node, "'health'")) return std::nullopt;
    std::optional<HealthAttribute> result;
    bool haveAttribute = false;
    for (const YamlEntry& entry : node.entries) {
      if (entry.key != "attribute") {
        unknownKey(entry, "in 'health'", kHealthKeys);
        continue;
      }
      haveAttribute = true;
      result = healthAttribute(entry.value);
    }
    if (!haveAttribute) error(node.position, "'health' needs an 'attribute'");
    return result;
  }

  std::optional<HealthAttribute> healthAttribute(const YamlNode& node) {
    if (!isMapping(node, "'attribute'")) return std::nullopt;
    std::optional<std::string> name;
    std::optional<std::string> healthy;
    bool haveName = false;
    bool haveHealthy = false;
    for (const YamlEntry& entry : node.entries) {
      if (entry.key == "name") {
        haveName = true;
        name = string(entry.value, "'name'");
        if (name && name->empty()) {
          error(entry.value.position, "the health attribute's 'name' must not be empty");
          name.reset();
        }
      } else if (entry.key == "healthy") {
        haveHealthy = true;
        healthy = glob(entry.value, "'healthy'");
      } else {
        unknownKey(entry, "in a health 'attribute'", kAttributeKeys);
      }
    }
    if (!haveName) {
      error(node.position, "the health 'attribute' needs a 'name' (a sysfs attribute)");
    }
    if (!haveHealthy) {
      error(node.position,
            "the health 'attribute' needs 'healthy' (the value, a glob, that means healthy)");
    }
    if (!name || !healthy) return std::nullopt;
    return HealthAttribute{*name, *healthy};
  }

  std::map<std::string, SourcePosition> resourceNames_;
  DraResourceChecks draChecks_;
  // Where these keys were written; line 0 when not.
  SourcePosition kubeletDirAt_, registryDirAt_, socketDirAt_;
};

}  // namespace

ParseOutcome parseConfig(std::string_view text) {
  ParseOutcome outcome;
  if (text.size() > kMaxConfigBytes) {
    outcome.errors.push_back({{},
                              "the config is larger than " + std::to_string(kMaxConfigBytes) +
                                  " bytes; a config is a few KiB"});
    return outcome;
  }
  YamlDocument document = parseYaml(text);
  if (!document.root && document.errors.count() == 0) {
    outcome.errors.push_back({{1, 1}, "the config is empty; it needs a 'resources' list"});
    return outcome;
  }
  Validator validator(std::move(document.errors));
  Config config;
  if (document.root) config = validator.config(*document.root);
  DiagnosticList& errors = validator.errors();
  if (errors.count() == 0) {
    outcome.config = std::move(config);
    return outcome;
  }
  std::size_t dropped = errors.dropped();
  outcome.errors = errors.take();
  if (dropped > 0) {
    outcome.errors.push_back(
        {{}, "and " + std::to_string(dropped) + " more errors; fix these first"});
  }
  return outcome;
}

std::string formatDiagnostic(std::string_view fileName, const Diagnostic& diagnostic) {
  // Appended piece by piece: gcc 12 at -O3 reports a false -Wrestrict on `":" + to_string(…)`.
  std::string out(fileName);
  if (diagnostic.position.line > 0) {
    out += ':';
    out += std::to_string(diagnostic.position.line);
    out += ':';
    out += std::to_string(diagnostic.position.column);
  }
  out += diagnostic.severity == Severity::kWarning ? ": warning: " : ": error: ";
  out += diagnostic.message;
  return out;
}

}  // namespace udp::config
