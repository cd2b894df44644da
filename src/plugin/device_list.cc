#include "plugin/device_list.h"

#include <cstdint>
#include <string_view>

namespace udp::plugin {
namespace {

// Wire format (proto3, deviceplugin v1beta1):
//   ListAndWatchResponse { repeated Device devices = 1; }
//   Device { string ID = 1; string health = 2; TopologyInfo topology = 3; }
//   TopologyInfo { repeated NUMANode nodes = 1; }   NUMANode { int64 ID = 1; }
// Tags are (field << 3) | wire type; every field here is length-delimited (2) except
// NUMANode.ID (varint, 0). Proto3 leaves out empty strings and a zero ID.
constexpr char kTagDevices = 0x0a, kTagId = 0x0a, kTagHealth = 0x12, kTagTopology = 0x1a;
constexpr char kTagNodes = 0x0a, kTagNodeId = 0x08;
constexpr std::string_view kHealthy = "Healthy", kUnhealthy = "Unhealthy";

size_t varintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

void putVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

size_t stringFieldSize(std::string_view value) {
  return value.empty() ? 0 : 1 + varintSize(value.size()) + value.size();
}

void putStringField(std::string& out, char tag, std::string_view value) {
  if (value.empty()) return;
  out.push_back(tag);
  putVarint(out, value.size());
  out.append(value);
}

// NUMANode and TopologyInfo bodies; numaNode >= 0 (an int64 of a non-negative int).
size_t nodeSize(int numaNode) {
  return numaNode == 0 ? 0 : 1 + varintSize(static_cast<uint64_t>(numaNode));
}
size_t topologySize(int numaNode) {
  return 1 + varintSize(nodeSize(numaNode)) + nodeSize(numaNode);
}

size_t deviceSize(const Device& device) {
  size_t n = stringFieldSize(device.id) + stringFieldSize(device.healthy ? kHealthy : kUnhealthy);
  if (device.numaNode >= 0) {
    n += 1 + varintSize(topologySize(device.numaNode)) + topologySize(device.numaNode);
  }
  return n;
}

}  // namespace

void encodeDeviceList(const Inventory& inventory, std::string& out) {
  size_t total = 0;
  for (const auto& [id, device] : inventory.devices()) {
    size_t n = deviceSize(device);
    total += 1 + varintSize(n) + n;
  }
  out.clear();
  out.reserve(total);
  for (const auto& [id, device] : inventory.devices()) {
    out.push_back(kTagDevices);
    putVarint(out, deviceSize(device));
    putStringField(out, kTagId, device.id);
    putStringField(out, kTagHealth, device.healthy ? kHealthy : kUnhealthy);
    if (device.numaNode >= 0) {
      out.push_back(kTagTopology);
      putVarint(out, topologySize(device.numaNode));
      out.push_back(kTagNodes);
      putVarint(out, nodeSize(device.numaNode));
      if (device.numaNode != 0) {
        out.push_back(kTagNodeId);
        putVarint(out, static_cast<uint64_t>(device.numaNode));
      }
    }
  }
}

}  // namespace udp::plugin
