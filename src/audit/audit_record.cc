#include "audit/audit_record.h"

#include "util/json_writer.h"
#include "util/utc_time.h"

namespace udp::audit {
namespace {

// Opens the line's object and writes the common fields; a null resource when `resource` is
// null (events about the node, not one resource).
JsonWriter beginLine(AuditTime time, std::string_view event, const std::string* resource,
                     std::string_view result) {
  JsonWriter json;
  json.beginObject();
  json.key("time").value(formatUtcMillis(time));
  json.key("event").value(event);
  json.key("resource");
  if (resource != nullptr) {
    json.value(*resource);
  } else {
    json.null();
  }
  json.key("result").value(result);
  return json;
}

void writeStrings(JsonWriter& json, std::string_view name, const std::vector<std::string>& items) {
  json.key(name).beginArray();
  for (const auto& item : items) json.value(item);
  json.endArray();
}

std::string finish(JsonWriter& json) {
  json.endObject();
  return json.take();
}

}  // namespace

const char* healthStateName(HealthState state) {
  switch (state) {
    case HealthState::kHealthy:
      return "Healthy";
    case HealthState::kUnhealthy:
      return "Unhealthy";
    case HealthState::kAbsent:
      return "absent";
  }
  return "absent";
}

std::string renderAuditLine(const AllocateAudit& event, AuditTime time) {
  JsonWriter json = beginLine(time, "allocate", &event.resource, event.result);
  writeStrings(json, "deviceIds", event.deviceIds);
  writeStrings(json, "devnodes", event.devnodes);
  writeStrings(json, "serials", event.serials);
  json.key("containers").value(event.containers);
  return finish(json);
}

std::string renderAuditLine(const PreStartAudit& event, AuditTime time) {
  JsonWriter json = beginLine(time, "prestart", &event.resource, event.result);
  writeStrings(json, "deviceIds", event.deviceIds);
  return finish(json);
}

std::string renderAuditLine(const HealthAudit& event, AuditTime time) {
  JsonWriter json = beginLine(time, "health", &event.resource, "ok");
  json.key("deviceId").value(event.deviceId);
  json.key("devnode").value(event.devnode);
  json.key("serial").value(event.serial);
  json.key("from").value(healthStateName(event.from));
  json.key("to").value(healthStateName(event.to));
  if (event.holders) {
    json.key("holders").beginArray();
    for (const auto& holder : *event.holders) {
      json.beginObject();
      json.key("pod").value(holder.pod);
      json.key("namespace").value(holder.namespace_);
      json.key("container").value(holder.container);
      json.endObject();
    }
    json.endArray();
  }
  return finish(json);
}

std::string renderAuditLine(const RegistrationAudit& event, AuditTime time) {
  JsonWriter json = beginLine(time, "registration", &event.resource, event.ok ? "ok" : "failed");
  json.key("endpoint").value(event.endpoint);
  json.key("message").value(event.message);
  return finish(json);
}

std::string renderAuditLine(const KubeletRestartAudit& event, AuditTime time) {
  JsonWriter json = beginLine(time, "kubelet-restart", nullptr, "ok");
  json.key("kubeletDir").value(event.kubeletDir);
  return finish(json);
}

std::string renderAuditLine(const DroppedAudit& event, AuditTime time) {
  JsonWriter json = beginLine(time, "audit-dropped", nullptr, "failed");
  json.key("lines").value(event.lines);
  return finish(json);
}

std::string renderAuditLine(const ClaimAudit& event, AuditTime time) {
  JsonWriter json =
      beginLine(time, event.prepare ? "dra-prepare" : "dra-unprepare", &event.driver, event.result);
  json.key("namespace").value(event.namespace_);
  json.key("claim").value(event.claim);
  json.key("uid").value(event.uid);
  json.key("pods").beginArray();
  for (const std::string& pod : event.pods) json.value(pod);
  json.endArray();
  json.key("devices").beginArray();
  for (const std::string& device : event.devices) json.value(device);
  json.endArray();
  json.key("message").value(event.message);
  return finish(json);
}

}  // namespace udp::audit
