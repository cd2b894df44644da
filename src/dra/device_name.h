#pragma once

// The name of a device in a ResourceSlice (DESIGN.md §3b): a DNS label, unique in the node's pool
// and stable across restarts and renumbering, because it is derived only from the resource's name
// and the device's stable ID (udev/device_id.h), never from the order or the other devices.

#include <cstddef>
#include <string>
#include <string_view>

namespace udp::dra {

inline constexpr size_t kMaxDeviceNameLength = 63;  // RFC 1123 label

// "<short>-<id>" where <short> is the resource name after its '/': "zram-zram1" for
// example.com/zram and zram1. It stays so only when nothing is lost: <short> is all [a-z0-9] (so
// the first '-' separates it from the ID and no two pairs give the same text) and the ID all
// [a-z0-9-]. Otherwise upper case is lowered, every other byte becomes '-', the text is trimmed
// to a label and ends in '-' and 8 hex digits of the SHA-256 of "<resource>\n<id>", so that IDs
// that read alike stay apart. Always a valid label of at most 63 characters.
//
// Two resources with the same short name in different domains (a.com/x, b.com/x) can still give a
// device the same name: DRA resources must differ in their short names.
std::string deviceNameFor(std::string_view resourceName, std::string_view deviceId);

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDnsLabel(std::string_view text);

// RFC 1123 subdomain as Kubernetes checks it: labels as above (without their length limit)
// joined by '.', at most `maxLength` characters in all.
bool isDnsSubdomain(std::string_view text, size_t maxLength = 253);

}  // namespace udp::dra
