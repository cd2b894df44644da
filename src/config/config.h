#pragma once

// The plugin's configuration as plain values (DESIGN.md §2). Filled by parseConfig
// (config_parser.h); nothing here knows about YAML.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace udp::config {

// Where a value came from, for messages like "config.yaml:12:7: ...".
struct SourcePosition {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based

  // Where a rule is written does not change what it means: a reload that only moves lines
  // keeps the resource's registration.
  bool operator==(const SourcePosition&) const { return true; }
};

// A device matches a rule when every key that is set matches (DESIGN.md §2). Globs are fnmatch(3)
// patterns.
struct MatchRule {
  std::optional<std::string> subsystem;  // exact
  std::optional<std::string> kernel;     // glob on the kernel name (sysname)
  std::optional<std::string> devnode;    // glob on the device node path
  std::optional<std::string> devtype;    // exact
  std::optional<std::string> driver;     // glob; the device or its nearest parent with a driver
  std::map<std::string, std::string> properties;        // udev properties, glob values
  std::map<std::string, std::string> attributes;        // sysfs attributes of the device
  std::map<std::string, std::string> parentAttributes;  // sysfs attributes of any parent
  SourcePosition position;

  bool operator==(const MatchRule&) const = default;
};

struct Mount {
  std::string hostPath;
  std::string containerPath;
  bool readOnly = false;

  bool operator==(const Mount&) const = default;
};

struct HealthAttribute {
  std::string name;     // sysfs attribute of the device, e.g. "online"
  std::string healthy;  // glob; the device is healthy while the attribute's value matches

  bool operator==(const HealthAttribute&) const = default;
};

enum class OnRemove { kDrop, kUnhealthy };

// Which kubelet API serves a resource (docs/dra.md): the device plugin (Register/ListAndWatch/
// Allocate), a DRA driver (ResourceSlices and NodePrepareResources), or both at once.
enum class Serve { kDevicePlugin, kDra, kBoth };

// How a device node appears in a container when it is handed out through a CDI spec (DRA, or
// `cdi: true`): owner and mode, so that a non-root container can open it. Unset: as on the host.
struct DeviceFile {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint32_t> mode;  // permission bits, e.g. 0660; written in the config as "0660"

  bool operator==(const DeviceFile&) const = default;
};
enum class PreferredAllocation { kNone, kNuma };

struct Resource {
  std::string name;  // e.g. "example.com/serial"; validated as the kubelet does
  std::vector<MatchRule> match;
  int shares = 1;                  // allocatable units per device; 1..1000
  std::string permissions = "rw";  // any of r, w, m
  bool symlinks = false;           // also hand out the device's /dev links
  std::string containerPath;       // empty: the host path
  std::vector<Mount> mounts;
  std::map<std::string, std::string> env;  // values may use {ids} {devnodes} {serials} {resource}
  std::map<std::string, std::string> annotations;
  bool cdi = false;
  OnRemove onRemove = OnRemove::kDrop;
  std::optional<HealthAttribute> health;
  PreferredAllocation preferredAllocation = PreferredAllocation::kNone;
  // A device belongs to the first resource, in config order, whose rules match it; a later one
  // sees it only when it sets this, i.e. when handing one device to two pods is meant.
  bool shareDevicesWithEarlierResources = false;
  Serve serve = Serve::kDevicePlugin;
  DeviceFile deviceFile;
  SourcePosition position;

  bool operator==(const Resource&) const = default;
};

// serve: dra or both: the DRA driver publishes the resource's devices.
inline bool servedThroughDra(const Resource& resource) {
  return resource.serve != Serve::kDevicePlugin;
}
// serve: devicePlugin or both: the resource registers with the kubelet as a device plugin.
inline bool servedByDevicePlugin(const Resource& resource) {
  return resource.serve != Serve::kDra;
}

enum class UdevSource { kAuto, kUdev, kKernel };

// The DRA driver (DESIGN.md §3b, docs/dra.md); present when the config has a `dra:` block.
struct DraConfig {
  std::string driverName;  // DNS subdomain: the driver in ResourceSlices, claims and CDI kinds
  std::string kubeconfig;  // empty: in-cluster (service account, KUBERNETES_SERVICE_HOST/PORT)
  std::string nodeName;    // empty: $NODE_NAME, then the host name
  // The kubelet's plugin directories: <pluginsRegistryDir>/<driver>-reg.sock registers us,
  // <pluginDir>/<driver>/dra.sock serves NodePrepareResources.
  std::string pluginsRegistryDir = "/var/lib/kubelet/plugins_registry";
  std::string pluginDir = "/var/lib/kubelet/plugins";
  SourcePosition position;

  bool operator==(const DraConfig&) const = default;
};

// How the kubelet learns of a resource (docs/plugin-watcher.md): a Register call on
// <kubeletDir>/kubelet.sock, or a registration socket in the kubelet's plugins_registry
// directory that the kubelet's plugin watcher dials.
enum class RegistrationMode { kKubelet, kPluginWatcher };

struct Config {
  std::string kubeletDir = "/var/lib/kubelet/device-plugins";
  RegistrationMode registration = RegistrationMode::kKubelet;
  // pluginWatcher only: where our <resource>-reg.sock files go (the kubelet watches it)...
  std::string pluginsRegistryDir = "/var/lib/kubelet/plugins_registry";
  // ...and where the device-plugin sockets they name go. Not kubeletDir: a starting kubelet
  // deletes every socket there, and the plugin watcher would not tell us to serve again.
  std::string pluginSocketDir = "/var/lib/kubelet/plugins/udev-device-plugin";
  std::string cdiDir = "/var/run/cdi";
  UdevSource udevSource = UdevSource::kAuto;
  std::optional<DraConfig> dra;
  std::vector<Resource> resources;

  bool operator==(const Config&) const = default;
};

}  // namespace udp::config
