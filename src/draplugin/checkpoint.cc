#include "draplugin/checkpoint.h"

#include <errno.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <vector>

#include "util/json_writer.h"

namespace udp::draplugin {
namespace {

void stringArray(JsonWriter& json, std::string_view key, const std::vector<std::string>& values) {
  json.key(key).beginArray();
  for (const std::string& value : values) json.value(value);
  json.endArray();
}

Error invalid(const std::string& what) {
  return makeError(-EINVAL, "checkpoint: " + what);
}

using Value = rapidjson::Value;

// Reads a string member; absent reads as empty, any other type is an error.
bool readString(const Value& object, const char* key, std::string& out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return true;
  if (!it->value.IsString()) return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

bool readStrings(const Value& object, const char* key, std::vector<std::string>& out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return true;
  if (!it->value.IsArray()) return false;
  for (const Value& item : it->value.GetArray()) {
    if (!item.IsString()) return false;
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return true;
}

// An array member of objects; absent reads as empty.
const Value* objects(const Value& object, const char* key, bool& ok) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return nullptr;
  ok = it->value.IsArray();
  if (!ok) return nullptr;
  for (const Value& item : it->value.GetArray()) ok = ok && item.IsObject();
  return ok ? &it->value : nullptr;
}

Result<PreparedClaim> readClaim(const Value& item, size_t index) {
  std::string where = "claims[" + std::to_string(index) + "]";
  PreparedClaim claim;
  if (!readString(item, "uid", claim.uid) || !readString(item, "namespace", claim.namespaceName) ||
      !readString(item, "name", claim.name)) {
    return invalid(where + ": uid, namespace and name must be strings");
  }
  if (claim.uid.empty()) return invalid(where + ": no uid");
  bool ok = true;
  if (const Value* pods = objects(item, "reservedFor", ok)) {
    for (const Value& pod : pods->GetArray()) {
      dra::ConsumerReference ref;
      if (!readString(pod, "resource", ref.resource) || !readString(pod, "name", ref.name) ||
          !readString(pod, "uid", ref.uid)) {
        return invalid(where + ".reservedFor: resource, name and uid must be strings");
      }
      claim.reservedFor.push_back(std::move(ref));
    }
  }
  if (!ok) return invalid(where + ".reservedFor must be an array of objects");
  if (const Value* devices = objects(item, "devices", ok)) {
    for (const Value& entry : devices->GetArray()) {
      PreparedDevice device;
      if (!readStrings(entry, "requestNames", device.requestNames) ||
          !readString(entry, "pool", device.poolName) ||
          !readString(entry, "device", device.deviceName) ||
          !readStrings(entry, "cdiDeviceIds", device.cdiDeviceIds)) {
        return invalid(where + ".devices: pool and device must be strings, requestNames and " +
                       "cdiDeviceIds arrays of strings");
      }
      claim.devices.push_back(std::move(device));
    }
  }
  if (!ok) return invalid(where + ".devices must be an array of objects");
  return claim;
}

}  // namespace

std::string renderCheckpoint(const PreparedClaims& claims) {
  JsonWriter json;
  json.beginObject();
  json.key("version").value(kCheckpointVersion);
  json.key("claims").beginArray();
  for (const auto& [uid, claim] : claims) {
    json.beginObject();
    json.key("uid").value(claim.uid);
    json.key("namespace").value(claim.namespaceName);
    json.key("name").value(claim.name);
    json.key("reservedFor").beginArray();
    for (const dra::ConsumerReference& ref : claim.reservedFor) {
      json.beginObject();
      json.key("resource").value(ref.resource);
      json.key("name").value(ref.name);
      json.key("uid").value(ref.uid);
      json.endObject();
    }
    json.endArray();
    json.key("devices").beginArray();
    for (const PreparedDevice& device : claim.devices) {
      json.beginObject();
      stringArray(json, "requestNames", device.requestNames);
      json.key("pool").value(device.poolName);
      json.key("device").value(device.deviceName);
      stringArray(json, "cdiDeviceIds", device.cdiDeviceIds);
      json.endObject();
    }
    json.endArray();
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.take() + "\n";
}

Result<PreparedClaims> parseCheckpoint(std::string_view text) {
  rapidjson::Document document;
  // Iterative: no recursion, so a deeply nested file cannot exhaust the stack. Encoding
  // validated: what we read back goes into protobuf strings.
  document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      text.data(), text.size());
  if (document.HasParseError()) {
    return invalid(std::string(rapidjson::GetParseError_En(document.GetParseError())) +
                   " at offset " + std::to_string(document.GetErrorOffset()));
  }
  // Const: RapidJSON 1.1's mutable member iterators compare ambiguously in C++20.
  const Value& root = document;
  if (!root.IsObject()) return invalid("not a JSON object");
  auto version = root.FindMember("version");
  if (version == root.MemberEnd() || !version->value.IsInt()) return invalid("no version");
  if (version->value.GetInt() != kCheckpointVersion) {
    return invalid("version " + std::to_string(version->value.GetInt()) + ", expected " +
                   std::to_string(kCheckpointVersion));
  }
  PreparedClaims claims;
  bool ok = true;
  const Value* list = objects(root, "claims", ok);
  if (!ok) return invalid("claims must be an array of objects");
  if (list == nullptr) return claims;
  size_t index = 0;
  for (const Value& item : list->GetArray()) {
    auto claim = readClaim(item, index++);
    if (!claim) return claim.error();
    std::string uid = claim->uid;
    if (!claims.emplace(uid, std::move(*claim)).second) {
      return invalid("claim " + uid + " appears twice");
    }
  }
  return claims;
}

}  // namespace udp::draplugin
