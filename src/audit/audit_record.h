#pragma once

// The audit log's records (DESIGN.md §1 "accounts"): one JSON object per line, one line per
// event, rendered by pure functions so that the exact bytes are tested. Every line starts with
// the common fields `time` (RFC 3339, UTC, milliseconds), `event`, `resource` and `result`; the
// event's own fields follow.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace udp::audit {

// Every field of the event structs has a default member initializer, so that designated
// initializers naming only some fields compile under -Wextra.

using AuditTime = std::chrono::system_clock::time_point;

// An Allocate answered (result "ok") or refused (result: the error text).
struct AllocateAudit {
  std::string resource{};
  std::vector<std::string> deviceIds{};
  std::vector<std::string> devnodes{};
  std::vector<std::string> serials{};
  std::string result = "ok";
  uint64_t containers = 0;  // container requests in the call
};

struct PreStartAudit {
  std::string resource{};
  std::vector<std::string> deviceIds{};
  std::string result = "ok";
};

enum class HealthState { kHealthy, kUnhealthy, kAbsent };
// "Healthy", "Unhealthy" (the kubelet's spelling) or "absent" (not in the device list).
const char* healthStateName(HealthState state);

// A container holding a device, as the kubelet's PodResources API reports it.
struct AuditHolder {
  std::string pod{};
  std::string namespace_{};
  std::string container{};
};

struct HealthAudit {
  std::string resource{};
  std::string deviceId{};
  std::string devnode{};
  std::string serial{};
  HealthState from = HealthState::kAbsent;
  HealthState to = HealthState::kAbsent;
  // Unset: not known (no PodResources answer), and the field is left out; set and empty: known
  // to be held by nobody.
  std::optional<std::vector<AuditHolder>> holders{};
};

struct RegistrationAudit {
  std::string resource{};
  std::string endpoint{};
  bool ok = false;        // result "ok" or "failed"
  std::string message{};  // why it failed; empty when ok
};

// kubelet.sock was re-created: the kubelet restarted. Not about one resource: `resource` is null.
struct KubeletRestartAudit {
  std::string kubeletDir{};
};

// A ResourceClaim the DRA driver prepared or unprepared for the kubelet (event "dra-prepare" or
// "dra-unprepare"); `resource` is the driver's name.
struct ClaimAudit {
  bool prepare = true;
  std::string driver{};
  std::string namespace_{};
  std::string claim{};
  std::string uid{};
  std::vector<std::string> pods{};     // status.reservedFor: the pods' names (same namespace)
  std::vector<std::string> devices{};  // "<pool>/<device>"
  std::string result = "ok";           // ok | repeated | failed
  std::string message{};               // why it failed
};

// Written by the audit log itself once space returns after lines were dropped, so a gap in the
// record is never silent.
struct DroppedAudit {
  uint64_t lines = 0;
};

// Each returns one line without its newline.
std::string renderAuditLine(const AllocateAudit& event, AuditTime time);
std::string renderAuditLine(const PreStartAudit& event, AuditTime time);
std::string renderAuditLine(const HealthAudit& event, AuditTime time);
std::string renderAuditLine(const RegistrationAudit& event, AuditTime time);
std::string renderAuditLine(const KubeletRestartAudit& event, AuditTime time);
std::string renderAuditLine(const DroppedAudit& event, AuditTime time);
std::string renderAuditLine(const ClaimAudit& event, AuditTime time);

}  // namespace udp::audit
