#pragma once

// The governance record (DESIGN.md §1 "accounts"): one JSON document that says what this plugin
// is, how it was started, with which privileges, what it tells the kubelet, which devices it
// hands to containers and how it watches their health. `udev-device-plugin describe` prints it
// offline; a running daemon serves it at GET /describe. docs/describe.schema.json is the
// contract; describeJson is pure so that contract is tested on hand-built inputs.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "dra/driver_view.h"
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

// The DRA driver (docs/dra.md), when the config serves a resource through it.
struct DraView {
  std::string driverName;
  std::string nodeName;  // also the pool's name; "" when it cannot be resolved
  std::string registrationSocket;
  std::string pluginSocket;
  std::string kubeconfig;  // the file; "" for in-cluster (the service account)
  // Offline: the slices one scan would make (name -> devices), none of them published.
  std::map<std::string, size_t, std::less<>> plannedSlices;
  // A running daemon's driver.
  std::optional<dra::DriverView> live;
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
  std::optional<DraView> dra;  // unset: "dra" is null
  // Unset: now. Set by tests for a stable document.
  std::optional<std::chrono::system_clock::time_point> generatedAt;
};

// The record as one compact JSON object (docs/describe.schema.json).
std::string describeJson(const DescribeInputs& inputs, const ProcessFacts& process,
                         const BuildFacts& build);

// "2024-05-01T12:00:00Z".
std::string rfc3339Utc(std::chrono::system_clock::time_point when);

}  // namespace udp::governance
