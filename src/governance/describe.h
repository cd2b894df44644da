#pragma once

// The governance record (DESIGN.md §1 "accounts"): one JSON document that says what this plugin
// is, how it was started, with which privileges, what it tells the kubelet, which devices it
// hands to containers and how it watches their health. `udev-device-plugin describe` prints it
// offline; a running daemon serves it at GET /describe. docs/describe.schema.json is the
// contract; describeJson is pure so that contract is tested on hand-built inputs.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "governance/build_facts.h"
#include "governance/process_facts.h"
#include "plugin/device.h"

namespace udp::governance {

struct ResourceView {
  std::string name;
  std::string registrationState;  // the registration state machine's word; "not running" offline
  bool streaming = false;         // a ListAndWatch stream is open
  std::vector<plugin::Device> devices;
};

struct DescribeInputs {
  std::string configPath;
  std::string configSha256;
  // Borrowed; the resources' container hand-over and health rules are read from it. Null reads
  // as an empty config.
  const config::Config* config = nullptr;
  std::vector<ResourceView> resources;
  std::string eventSource;     // "udev" | "kernel"
  std::string metricsAddress;  // "" = off
  bool live = false;           // from a running daemon
  bool kubeletSocketPresent = false;
  // Unset: now. Set by tests for a stable document.
  std::optional<std::chrono::system_clock::time_point> generatedAt;
};

// The record as one compact JSON object (docs/describe.schema.json).
std::string describeJson(const DescribeInputs& inputs, const ProcessFacts& process,
                         const BuildFacts& build);

// "2024-05-01T12:00:00Z".
std::string rfc3339Utc(std::chrono::system_clock::time_point when);

}  // namespace udp::governance
