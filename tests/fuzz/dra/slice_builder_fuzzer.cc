// buildResourceSlices on devices made of any bytes (one per line; tab-separated resource, ID,
// model, serial, health reason; a first byte that picks health, removal and NUMA node): unless two
// devices share a name, every body is strict JSON within what the API server validates (names,
// 64-byte values, 128 or 64 devices a slice, label-valued taints), and every device is in one.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "../../support/strict_utf8.h"
#include "dra/device_name.h"
#include "dra/resource_slice_builder.h"

namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string field(const std::vector<std::string_view>& fields, size_t i) {
  return i < fields.size() ? std::string(fields[i]) : std::string();
}

bool labelValue(std::string_view v) {
  if (v.size() > 63) return false;
  for (char c : v) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return v.empty() || (v.front() != '-' && v.back() != '-');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udp::dra::PoolSpec pool;
  pool.driver = "udev.example.com";
  pool.nodeName = "node-1";
  pool.generation = 3;
  for (std::string_view line : split(input, '\n')) {
    if (line.empty()) continue;
    const unsigned char flags = static_cast<unsigned char>(line[0]);
    const std::vector<std::string_view> f = split(line.substr(1), '\t');
    udp::dra::PoolDevice d;
    d.resource = field(f, 0);
    d.device.id = field(f, 1);
    d.device.model = field(f, 2);
    d.device.serial = field(f, 3);
    d.device.healthReason = field(f, 4);
    d.device.healthy = (flags & 1) == 0;
    d.device.removed = (flags & 2) != 0;
    d.device.numaNode = (flags & 4) != 0 ? flags >> 3 : -1;
    pool.devices.push_back(std::move(d));
  }
  pool.unhealthy =
      (size & 1) != 0 ? udp::dra::UnhealthyDevices::kOmit : udp::dra::UnhealthyDevices::kTaint;

  auto slices = udp::dra::buildResourceSlices(pool);
  if (!slices.ok()) {
    if (slices.error().message.find("would both be named") == std::string::npos) abort();
    return 0;
  }
  size_t expected = 0;
  for (const udp::dra::PoolDevice& d : pool.devices) {
    expected += d.device.healthy || pool.unhealthy == udp::dra::UnhealthyDevices::kTaint;
  }
  size_t seen = 0;
  for (const udp::dra::ResourceSliceBody& body : *slices) {
    if (!udp::testing::strictUtf8(body.json)) abort();
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.json.data(), body.json.size());
    if (doc.HasParseError() || !doc.IsObject()) abort();
    const rapidjson::Value& spec = doc["spec"];
    if (spec["pool"]["resourceSliceCount"].GetUint64() != slices->size()) abort();
    const rapidjson::Value& devices = spec["devices"];
    if (devices.Size() != body.devices) abort();
    bool tainted = false;
    for (const rapidjson::Value& d : devices.GetArray()) {
      if (!udp::dra::isDnsLabel(d["name"].GetString())) abort();
      for (auto& a : d["attributes"].GetObject()) {
        if (a.value.HasMember("string") && a.value["string"].GetStringLength() > 64) abort();
      }
      if (d.HasMember("taints")) {
        tainted = true;
        for (const rapidjson::Value& t : d["taints"].GetArray()) {
          if (!labelValue(t["value"].GetString())) abort();
        }
      }
    }
    if (devices.Size() > (tainted ? 64u : 128u)) abort();
    seen += devices.Size();
  }
  if (seen != expected) abort();
  return 0;
}
