#include "dra/resource_slice_builder.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <tuple>
#include <utility>

#include "dra/device_name.h"
#include "governance/sha256.h"
#include "util/utf8.h"

namespace udp::dra {
namespace {

constexpr size_t kMaxSliceNameLength = 253;
constexpr size_t kMaxDriverLength = 63;  // DriverNameMaxLength, as for CSI drivers
constexpr size_t kMaxLabelValueLength = 63;

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A device with everything the slice needs, sorted before slicing.
struct Entry {
  std::string name;
  const PoolDevice* source;
  bool tainted;
};

void writeString(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void writeKey(Writer& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void writeStringAttribute(Writer& w, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  writeKey(w, name);
  w.StartObject();
  writeKey(w, "string");
  writeString(w, validUtf8Prefix(value, kMaxAttributeValueBytes));
  w.EndObject();
}

void writeIntAttribute(Writer& w, std::string_view name, int64_t value) {
  writeKey(w, name);
  w.StartObject();
  writeKey(w, "int");
  w.Int64(value);
  w.EndObject();
}

void writeAttributes(Writer& w, const PoolDevice& entry, bool standardNumaNode) {
  const plugin::Device& d = entry.device;
  writeKey(w, "attributes");
  w.StartObject();
  writeStringAttribute(w, "resource", entry.resource);
  writeStringAttribute(w, "subsystem", d.subsystem);
  writeStringAttribute(w, "kernel", d.kernel);
  writeStringAttribute(w, "devnode", d.devnode);
  writeStringAttribute(w, "devtype", d.devtype);
  writeStringAttribute(w, "driver", d.driver);
  writeStringAttribute(w, "vendorId", d.vendorId);
  writeStringAttribute(w, "productId", d.productId);
  writeStringAttribute(w, "vendor", d.vendor);
  writeStringAttribute(w, "model", d.model);
  writeStringAttribute(w, "serial", d.serial);
  writeStringAttribute(w, "idPath", d.idPath);
  if (d.numaNode >= 0) {
    writeIntAttribute(w, "numaNode", d.numaNode);
    if (standardNumaNode) writeIntAttribute(w, kNumaNodeAttribute, d.numaNode);
  }
  w.EndObject();
}

void writeTaint(Writer& w, std::string_view key, std::string_view value, std::string_view effect,
                std::string_view timeAdded) {
  w.StartObject();
  writeKey(w, "key");
  writeString(w, key);
  writeKey(w, "value");
  writeString(w, value);
  writeKey(w, "effect");
  writeString(w, effect);
  if (!timeAdded.empty()) {
    writeKey(w, "timeAdded");
    writeString(w, timeAdded);
  }
  w.EndObject();
}

void writeDevice(Writer& w, const Entry& entry, std::string_view taintKey, bool standardNumaNode) {
  const PoolDevice& source = *entry.source;
  w.StartObject();
  writeKey(w, "name");
  writeString(w, entry.name);
  writeAttributes(w, source, standardNumaNode);
  if (entry.tainted) {
    const std::string value = taintValue(source.device.healthReason);
    writeKey(w, "taints");
    w.StartArray();
    writeTaint(w, taintKey, value, "NoSchedule", source.taintTimeAdded);
    if (source.device.removed) writeTaint(w, taintKey, value, "NoExecute", source.taintTimeAdded);
    w.EndArray();
  }
  w.EndObject();
}

std::string renderSlice(const PoolSpec& pool, const std::string& name,
                        const std::string* resourceVersion, size_t sliceCount, const Entry* devices,
                        size_t deviceCount) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  writeKey(w, "apiVersion");
  writeString(w, "resource.k8s.io/v1");
  writeKey(w, "kind");
  writeString(w, "ResourceSlice");

  writeKey(w, "metadata");
  w.StartObject();
  writeKey(w, "name");
  writeString(w, name);
  if (resourceVersion != nullptr) {
    writeKey(w, "resourceVersion");
    writeString(w, *resourceVersion);
  }
  writeKey(w, "labels");
  w.StartObject();
  writeKey(w, kManagedByLabel);
  writeString(w, kManagedByValue);
  writeKey(w, kDriverLabel);
  writeString(w, pool.driver);
  w.EndObject();
  if (!pool.nodeUid.empty()) {
    writeKey(w, "ownerReferences");
    w.StartArray();
    w.StartObject();
    writeKey(w, "apiVersion");
    writeString(w, "v1");
    writeKey(w, "kind");
    writeString(w, "Node");
    writeKey(w, "name");
    writeString(w, pool.nodeName);
    writeKey(w, "uid");
    writeString(w, pool.nodeUid);
    writeKey(w, "controller");
    w.Bool(true);
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();

  writeKey(w, "spec");
  w.StartObject();
  writeKey(w, "driver");
  writeString(w, pool.driver);
  writeKey(w, "nodeName");
  writeString(w, pool.nodeName);
  writeKey(w, "pool");
  w.StartObject();
  writeKey(w, "name");
  writeString(w, pool.nodeName);
  writeKey(w, "generation");
  w.Int64(pool.generation);
  writeKey(w, "resourceSliceCount");
  w.Uint64(sliceCount);
  w.EndObject();
  writeKey(w, "devices");
  w.StartArray();
  const std::string taintKey = pool.driver + "/unhealthy";
  for (size_t i = 0; i < deviceCount; ++i) {
    writeDevice(w, devices[i], taintKey, pool.standardNumaNode);
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Where each slice starts in `entries`: a slice closes before the device that would take it past
// 128 devices, or past 64 once it holds a tainted one.
std::vector<size_t> sliceStarts(const std::vector<Entry>& entries) {
  std::vector<size_t> starts = {0};
  size_t count = 0;
  bool tainted = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    const bool withThis = tainted || entries[i].tainted;
    const size_t limit = withThis ? kMaxDevicesPerTaintedSlice : kMaxDevicesPerSlice;
    if (count + 1 > limit) {
      starts.push_back(i);
      count = 0;
      tainted = false;
    }
    ++count;
    tainted = tainted || entries[i].tainted;
  }
  return starts;
}

}  // namespace

std::string resourceSliceName(std::string_view nodeName, std::string_view driver, size_t index) {
  std::string base = std::string(nodeName) + "-" + std::string(driver);
  std::replace(base.begin() + static_cast<std::ptrdiff_t>(nodeName.size()), base.end(), '.', '-');
  const std::string suffix = "-" + std::to_string(index);
  if (base.size() + suffix.size() > kMaxSliceNameLength) {
    // Long node names: keep the readable start, apart by a hash of what was cut.
    const std::string hash =
        governance::sha256Hex(std::string(nodeName) + "\n" + std::string(driver)).substr(0, 8);
    base.resize(kMaxSliceNameLength - suffix.size() - 1 - hash.size());
    while (!base.empty() && (base.back() == '-' || base.back() == '.')) base.pop_back();
    base += "-" + hash;
  }
  return base + suffix;
}

std::string taintValue(std::string_view reason) {
  std::string out;
  for (char c : reason) {
    if (out.size() == kMaxLabelValueLength) break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "unhealthy" : out;
}

Result<std::vector<ResourceSliceBody>> buildResourceSlices(
    const PoolSpec& pool, const std::map<std::string, std::string, std::less<>>& resourceVersions) {
  if (!isDnsSubdomain(pool.driver, kMaxDriverLength)) {
    return makeError(-EINVAL, "invalid DRA driver name \"" + pool.driver +
                                  "\": must be a DNS subdomain of at most 63 characters");
  }
  if (!isDnsSubdomain(pool.nodeName)) {
    return makeError(-EINVAL,
                     "invalid node name \"" + pool.nodeName + "\": must be a DNS subdomain");
  }
  if (pool.generation < 0) {
    return makeError(-EINVAL, "invalid pool generation " + std::to_string(pool.generation));
  }

  std::vector<Entry> entries;
  entries.reserve(pool.devices.size());
  for (const PoolDevice& d : pool.devices) {
    const bool unhealthy = !d.device.healthy;
    if (unhealthy && pool.unhealthy == UnhealthyDevices::kOmit) continue;
    entries.push_back({deviceNameFor(d.resource, d.device.id), &d, unhealthy});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.source->resource, a.name) < std::tie(b.source->resource, b.name);
  });
  // Names are unique per resource by construction; across resources only if their short names
  // differ (device_name.h). A pool with a duplicate would be refused as a whole.
  std::map<std::string_view, const Entry*> byName;
  for (const Entry& e : entries) {
    auto [it, inserted] = byName.emplace(e.name, &e);
    if (!inserted) {
      return makeError(-EINVAL, "devices " + it->second->source->resource + " " +
                                    it->second->source->device.id + " and " + e.source->resource +
                                    " " + e.source->device.id + " would both be named " + e.name);
    }
  }

  const std::vector<size_t> starts = sliceStarts(entries);
  std::vector<ResourceSliceBody> slices;
  slices.reserve(starts.size());
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t end = k + 1 < starts.size() ? starts[k + 1] : entries.size();
    ResourceSliceBody body;
    body.name = resourceSliceName(pool.nodeName, pool.driver, k);
    body.devices = end - starts[k];
    auto version = resourceVersions.find(body.name);
    body.json =
        renderSlice(pool, body.name, version == resourceVersions.end() ? nullptr : &version->second,
                    starts.size(), entries.data() + starts[k], body.devices);
    slices.push_back(std::move(body));
  }
  return slices;
}

}  // namespace udp::dra
