#pragma once

// The Container Device Interface spec of one prepared claim (docs/dra-kubelet.md): one file per
// claim in cdiDir, kind "<driver>/claim", one CDI device per allocated device that has a device
// node, named "<claim UID>-<device name>" so that claims never share a name. Pure.
//
// Each CDI device carries the edits of its resource: its device node (and its /dev links with
// `symlinks: true`) with the owner and mode of `deviceFile`, the resource's mounts, and its env
// templates expanded over the devices of that resource in the claim. The runtime removes
// duplicates (same path) when a container gets several devices of one resource.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "plugin/device.h"

namespace udp::draplugin {

struct ClaimSpecDevice {
  std::string deviceName;  // as published in the ResourceSlice
  const config::Resource& resource;
  const plugin::Device& device;
};

// "udev.example.com/claim".
std::string cdiClaimKind(std::string_view driver);
// "udev.example.com/claim=<uid>-<deviceName>": what the kubelet hands the runtime.
std::string cdiClaimDeviceId(std::string_view driver, std::string_view claimUid,
                             std::string_view deviceName);
// "udev.example.com-claim_<uid>.json", the spec's file name inside cdiDir.
std::string cdiClaimSpecFileName(std::string_view driver, std::string_view claimUid);
// Whether the spec has an entry for the device: only a device node is something for the
// runtime to inject, and CDI refuses a whole spec with a device that has no edits.
bool hasCdiEntry(const plugin::Device& device);
// The spec as JSON; devices without an entry are left out. Empty when no device has one (no
// file is written then).
std::string renderClaimCdiSpec(std::string_view driver, std::string_view claimUid,
                               const std::vector<ClaimSpecDevice>& devices);

}  // namespace udp::draplugin
