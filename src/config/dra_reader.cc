#include "config/dra_reader.h"

#include <cstdint>

#include "config/dra_names.h"

namespace udp::config {
namespace {

constexpr std::string_view kDraKeys[] = {"driverName", "kubeconfig", "nodeName",
                                         "pluginsRegistryDir", "pluginDir"};
constexpr std::string_view kDeviceFileKeys[] = {"uid", "gid", "mode"};

// chown(2) reads (uid_t)-1 as "leave it as it is", so the largest id is one less.
constexpr std::int64_t kMaxId = 4294967294;

// Always octal, as chmod reads it, and permission bits only: a set-id or sticky bit means
// nothing on a device node. Unquoted, only a leading 0 says octal: YAML 1.2 and JSON read 660
// as the decimal number 660.
std::optional<std::uint32_t> fileMode(NodeReader& reader, const YamlNode& node) {
  const std::string& text = node.text;
  bool octal = node.kind == YamlNode::Kind::kScalar && (text.size() == 3 || text.size() == 4);
  for (char c : text) octal = octal && c >= '0' && c <= '7';
  if (!octal) {
    reader.error(node.position,
                 "'mode' must be an octal string of 3 or 4 digits such as \"0660\" or \"660\", "
                 "not " +
                     describe(node));
    return std::nullopt;
  }
  if (text.size() == 4 && text.front() != '0') {
    reader.error(node.position, "'mode' must be permission bits, at most 0777, not " + text +
                                    ": set-id and sticky bits mean nothing on a device node");
    return std::nullopt;
  }
  if (!node.quoted && text.front() != '0') {
    reader.error(node.position, "'mode' " + text + " must be quoted (\"" + text +
                                    "\") or start with 0 (0" + text +
                                    "): unquoted, YAML and JSON read it as a decimal number");
    return std::nullopt;
  }
  std::uint32_t mode = 0;
  for (char c : text) mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  return mode;
}

}  // namespace

std::optional<DraConfig> readDraConfig(NodeReader& reader, const YamlNode& node) {
  if (!reader.isMapping(node, "'dra'")) return std::nullopt;
  DraConfig dra;
  dra.position = node.position;
  dra.pluginsRegistryDir.clear();
  bool haveDriver = false;
  for (const YamlEntry& entry : node.entries) {
    const YamlNode& value = entry.value;
    if (entry.key == "driverName") {
      haveDriver = true;
      auto name = reader.string(value, "'driverName'");
      if (!name) continue;
      if (auto problem = draDriverNameError(*name)) {
        reader.error(value.position, "invalid driver name " + quote(*name) + ": " + *problem);
      } else {
        dra.driverName = *name;
      }
    } else if (entry.key == "kubeconfig") {
      if (auto path = reader.path(value, "'kubeconfig'", true)) dra.kubeconfig = *path;
    } else if (entry.key == "nodeName") {
      auto name = reader.string(value, "'nodeName'");
      if (!name || name->empty()) continue;
      if (auto problem = nodeNameError(*name)) {
        reader.error(value.position, "invalid node name " + quote(*name) + ": " + *problem);
      } else {
        dra.nodeName = *name;
      }
    } else if (entry.key == "pluginsRegistryDir") {
      if (auto dir = reader.path(value, "'pluginsRegistryDir'", false)) {
        dra.pluginsRegistryDir = *dir;
      }
    } else if (entry.key == "pluginDir") {
      if (auto dir = reader.path(value, "'pluginDir'", false)) dra.pluginDir = *dir;
    } else {
      reader.unknownKey(entry, "in 'dra'", kDraKeys);
    }
  }
  if (!haveDriver) {
    reader.error(node.position,
                 "the 'dra' block needs a 'driverName', the DNS subdomain that names the driver "
                 "in ResourceSlices, claims and CDI (e.g. udev.example.com)");
  }
  return dra;
}

std::optional<Serve> readServe(NodeReader& reader, const YamlNode& node) {
  return reader.choice<Serve>(
      node, "'serve'",
      {{"devicePlugin", Serve::kDevicePlugin}, {"dra", Serve::kDra}, {"both", Serve::kBoth}});
}

std::optional<DeviceFile> readDeviceFile(NodeReader& reader, const YamlNode& node) {
  if (!reader.isMapping(node, "'deviceFile'")) return std::nullopt;
  DeviceFile file;
  for (const YamlEntry& entry : node.entries) {
    const YamlNode& value = entry.value;
    if (entry.key == "uid") {
      if (auto id = reader.integer64(value, "'uid'", 0, kMaxId)) {
        file.uid = static_cast<std::uint32_t>(*id);
      }
    } else if (entry.key == "gid") {
      if (auto id = reader.integer64(value, "'gid'", 0, kMaxId)) {
        file.gid = static_cast<std::uint32_t>(*id);
      }
    } else if (entry.key == "mode") {
      file.mode = fileMode(reader, value);
    } else {
      reader.unknownKey(entry, "in 'deviceFile'", kDeviceFileKeys);
    }
  }
  return file;
}

void DraResourceChecks::resource(NodeReader& reader, const Resource& resource,
                                 const DraKeyPositions& at) {
  bool viaDra = servedThroughDra(resource);
  if (at.deviceFileKey.line > 0 && !viaDra && !resource.cdi) {
    reader.error(at.deviceFileKey,
                 "'deviceFile' has no effect here: the device plugin hands out device nodes as "
                 "they are on the host unless the resource has 'cdi: true'; set 'cdi: true' or "
                 "'serve: dra'");
  }
  if (!viaDra) return;
  servedAt_.push_back(at.serveKey);
  if (!at.nameValid) return;
  if (auto problem = draResourceNameError(resource.name)) {
    reader.error(at.name, "resource name " + quote(resource.name) + " " + *problem);
    return;
  }
  // Two names can give one class: example.com/a.b and b.example.com/a both give a.b.example.com.
  std::string className = deviceClassNameFor(resource.name);
  auto [it, inserted] = classNames_.try_emplace(className, at.name);
  if (!inserted) {
    reader.error(at.name, "resource name " + quote(resource.name) + " gives the DeviceClass name " +
                              quote(className) + ", as the resource at line " +
                              std::to_string(it->second.line) +
                              " does; rename one of them or serve it through the device plugin");
  }
}

void DraResourceChecks::finish(NodeReader& reader, bool haveDraBlock) {
  if (haveDraBlock) return;
  for (const SourcePosition& at : servedAt_) {
    reader.error(at,
                 "serving a resource through DRA needs a top-level 'dra' block with the driver's "
                 "'driverName' (docs/dra.md)");
  }
}

}  // namespace udp::config
