#pragma once

// The ResourceSlices (resource.k8s.io/v1) that publish one node's pool (DESIGN.md §3b): the
// request bodies for POST (create) and PUT (update), built from the devices the udev inventory
// serves through DRA. Pure: no I/O, the same input gives the same bytes.
//
// Checked against k8s.io/api resource/v1 types.go and pkg/apis/resource/validation:
// - metadata.name "<node>-<driver, dots as dashes>-<index>", a DNS subdomain of at most 253
//   characters (cut, with a hash of node and driver, when longer), so that a restarted driver
//   finds and updates its slices instead of adding more; labels
//   app.kubernetes.io/managed-by=udev-device-plugin and udev-device-plugin/driver=<driver> (a
//   driver name, at most 63 characters, is a valid label value). The node's slices are listed by
//   the field selector spec.nodeName=<node>,spec.driver=<driver> (parseResourceSliceList).
// - spec.pool: name = the node name, generation, resourceSliceCount = the number of slices; at
//   least one slice even without devices, so that the scheduler sees the pool is empty.
// - spec.devices: at most 128 a slice, 64 once a slice holds a tainted device; in order of
//   resource, then name (deviceNameFor). Attributes in the driver's domain, unqualified:
//   resource, subsystem, kernel, devnode, devtype, driver, vendorId, productId, vendor, model,
//   serial, idPath as {"string": ...}, left out when empty; string values are limited to 64
//   bytes by the API, so longer ones are cut at a character boundary (and ill-formed UTF-8
//   becomes U+FFFD). The NUMA node, when known, as numaNode {"int": N} and, from 1.37, as the
//   standard resource.kubernetes.io/numaNode (KEP-6072, StandardDeviceAttributeNUMANode of
//   k8s.io/dynamic-resource-allocation/deviceattribute v0.37) in its scalar form, the one that
//   needs no feature gate (the list form needs DRAListTypeAttributes and lowers the slice limit
//   to 64). Older API servers accept the name too, they only check its syntax, but it is not
//   ours to use before the project defines it: PoolSpec::standardNumaNode.
// - taints of an unhealthy device: {key: "<driver>/unhealthy", value: the reason as a label
//   value ("removed", "attribute-online-is-0-expected-1"), effect: NoSchedule}, and the same
//   with NoExecute when the device is gone (onRemove: unhealthy keeps it listed), which evicts
//   the pods using it. Taints need the DRADeviceTaints feature gate: alpha and off in 1.34 and
//   1.35, beta and on from 1.36, GA in 1.37. Where it is off the API server silently drops the
//   field (and would let the scheduler allocate the device): UnhealthyDevices::kOmit leaves such
//   devices out of the pool instead.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/device.h"
#include "util/result.h"

namespace udp::dra {

inline constexpr size_t kMaxDevicesPerSlice = 128;
inline constexpr size_t kMaxDevicesPerTaintedSlice = 64;
inline constexpr size_t kMaxAttributeValueBytes = 64;
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "udev-device-plugin";
inline constexpr std::string_view kDriverLabel = "udev-device-plugin/driver";
inline constexpr std::string_view kNumaNodeAttribute = "resource.kubernetes.io/numaNode";

// A device served through DRA.
struct PoolDevice {
  std::string resource;  // the config's resource name, e.g. example.com/zram
  plugin::Device device;
  // When its taints were added (RFC 3339), to keep across updates; empty: the API server's
  // business. Only read while the device is unhealthy.
  std::string taintTimeAdded;
};

enum class UnhealthyDevices {
  kTaint,  // published, tainted (DRADeviceTaints on: 1.36 and later)
  kOmit,   // left out of the pool (DRADeviceTaints off: 1.34 and 1.35 by default)
};

struct PoolSpec {
  std::string driver;    // DNS subdomain of at most 63 characters, e.g. udev.example.com
  std::string nodeName;  // also the pool's name
  std::string nodeUid;   // when set, the slices are owned by the Node (deleted with it)
  int64_t generation = 0;
  std::vector<PoolDevice> devices;
  UnhealthyDevices unhealthy = UnhealthyDevices::kTaint;
  bool standardNumaNode = true;  // false before 1.37
};

struct ResourceSliceBody {
  std::string name;  // metadata.name
  size_t devices = 0;
  std::string json;  // the request body
};

// The pool's slices, in order of name index. `resourceVersions` maps the names of slices that
// exist already to their metadata.resourceVersion: their bodies carry it, for a PUT that fails
// with 409 Conflict when someone else changed the slice meanwhile. An error when the driver or
// node name is invalid, the generation negative, or two devices would get the same name.
Result<std::vector<ResourceSliceBody>> buildResourceSlices(
    const PoolSpec& pool,
    const std::map<std::string, std::string, std::less<>>& resourceVersions = {});

// metadata.name of the pool's slice number `index`.
std::string resourceSliceName(std::string_view nodeName, std::string_view driver, size_t index);

// `reason` as a label value: lower case [a-z0-9], runs of anything else as one '-', at most 63
// characters; "unhealthy" when nothing is left.
std::string taintValue(std::string_view reason);

}  // namespace udp::dra
