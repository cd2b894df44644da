#pragma once

// The names the DRA driver puts into Kubernetes objects (docs/dra.md), checked as the API server
// checks them so that a bad name is reported with its line and column when the config is loaded,
// not as a 422 from every ResourceSlice write. Each check returns nullopt when the name is fine,
// else what is wrong, phrased to follow "invalid <what> 'x': ".

#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::config {

// The API server's rule for a driver name (pkg/apis/resource/validation: ValidateCSIDriverName):
// at most 63 characters, a DNS-1123 subdomain once lower-cased. Stricter in two ways, each
// because the name is used elsewhere as written: lower case only (slices, claims and CEL compare
// driver names case-sensitively; the API server lower-cases only to check), and a letter first
// (the driver name is the vendor of its CDI devices, and CDI vendor names start with a letter).
std::optional<std::string> draDriverNameError(std::string_view name);

// A Node's name (ValidateNodeName: NameIsDNSSubdomain): a DNS-1123 subdomain of at most 253
// characters. The driver's pool is named after its node.
std::optional<std::string> nodeNameError(std::string_view name);

// The DeviceClass of a resource served through DRA: "example.com/zram" -> "zram.example.com".
// `resourceName` has passed resourceNameError (exactly one '/').
std::string deviceClassNameFor(std::string_view resourceName);

// What serving a resource through DRA asks of its name, beyond what the kubelet asks
// (resourceNameError): its DeviceClass name must be a DNS-1123 subdomain of at most 253
// characters (validateDeviceClassName), and the name itself, the devices' `resource` attribute,
// at most 64 characters (DeviceAttributeMaxValueLength). Phrased to follow "resource name 'x' ".
std::optional<std::string> draResourceNameError(std::string_view resourceName);

// The node the driver publishes for: the config's dra.nodeName when set, else $NODE_NAME when
// set (the DaemonSet passes spec.nodeName), else the host name trimmed and lower-cased as the
// kubelet names its node by default. An error when that is empty or not a valid node name; a
// NODE_NAME that is set but invalid is an error, not a reason to fall back to the host name.
Result<std::string> resolveNodeName(std::string_view configured,
                                    std::optional<std::string_view> nodeNameEnv,
                                    std::string_view hostName);

// The same with this process's NODE_NAME and this machine's host name.
Result<std::string> resolveNodeName(std::string_view configured);

}  // namespace udp::config
