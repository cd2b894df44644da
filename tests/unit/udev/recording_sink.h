#pragma once

// A DeviceSink that keeps the resulting device set per resource and the log of calls, for the
// udev tests.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/device.h"
#include "plugin/device_source.h"

namespace udp::udev::testing {

class RecordingSink final : public plugin::DeviceSink {
 public:
  struct Call {
    bool upsert;
    std::string resource;
    std::string id;
    bool healthy;
  };

  void upsertDevice(std::string_view resource, plugin::Device device) override {
    calls.push_back({true, std::string(resource), device.id, device.healthy});
    devices[std::string(resource)][device.id] = std::move(device);
  }
  void removeDevice(std::string_view resource, std::string_view id) override {
    calls.push_back({false, std::string(resource), std::string(id), false});
    devices[std::string(resource)].erase(std::string(id));
  }

  void onUevent(std::string_view /*action*/) override { ++uevents; }
  void onRescan() override { ++rescans; }
  void onSourceUp() override { ++ups; }
  void onSourceDown(std::string_view cause) override { downs.emplace_back(cause); }

  const plugin::Device* find(const std::string& resource, const std::string& id) const {
    auto r = devices.find(resource);
    if (r == devices.end()) return nullptr;
    auto d = r->second.find(id);
    return d == r->second.end() ? nullptr : &d->second;
  }
  const plugin::Device* findBySyspathSuffix(const std::string& resource,
                                            std::string_view suffix) const {
    auto r = devices.find(resource);
    if (r == devices.end()) return nullptr;
    for (const auto& [id, device] : r->second) {
      if (device.syspath.ends_with(suffix)) return &device;
    }
    return nullptr;
  }
  size_t count(const std::string& resource) const {
    auto r = devices.find(resource);
    return r == devices.end() ? 0 : r->second.size();
  }

  std::map<std::string, std::map<std::string, plugin::Device>> devices;
  std::vector<Call> calls;
  size_t uevents = 0;
  size_t rescans = 0;
  size_t ups = 0;
  std::vector<std::string> downs;  // the causes the source failed with
};

}  // namespace udp::udev::testing
