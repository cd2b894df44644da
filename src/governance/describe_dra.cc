#include "governance/describe_dra.h"

#include <utility>

#include "config/dra_names.h"
#include "dra/api_access.h"
#include "draplugin/dra_plugin_server.h"

namespace udp::governance {
namespace {

std::string_view serveName(config::Serve serve) {
  switch (serve) {
    case config::Serve::kDevicePlugin:
      return "devicePlugin";
    case config::Serve::kDra:
      return "dra";
    case config::Serve::kBoth:
      return "both";
  }
  return "devicePlugin";
}

void strings(JsonWriter& json, std::string_view key, std::span<const std::string_view> values) {
  json.key(key).beginArray();
  for (std::string_view value : values) json.value(value);
  json.endArray();
}

void boolOrNull(JsonWriter& json, std::string_view key, const dra::DriverView* live,
                bool dra::DriverView::*member) {
  json.key(key);
  if (live == nullptr) {
    json.null();
  } else {
    json.value(live->*member);
  }
}

void kubeconfig(JsonWriter& json, const DraView& view) {
  json.key("kubeconfig").beginObject();
  json.key("source").value(view.kubeconfig.empty() ? "in-cluster" : "file");
  stringOrNull(json, "path", view.kubeconfig);
  json.endObject();
}

void resources(JsonWriter& json, const config::Config& config) {
  json.key("resources").beginArray();
  for (const config::Resource& resource : config.resources) {
    if (!config::servedThroughDra(resource)) continue;
    json.beginObject();
    json.key("name").value(resource.name);
    json.key("serve").value(serveName(resource.serve));
    json.key("deviceClass").value(config::deviceClassNameFor(resource.name));
    json.endObject();
  }
  json.endArray();
}

void api(JsonWriter& json, const dra::DriverView* live) {
  json.key("api").beginObject();
  stringOrNull(json, "server", live != nullptr ? live->apiServer : "");
  boolOrNull(json, "connected", live, &dra::DriverView::apiConnected);
  stringOrNull(json, "lastError", live != nullptr ? live->apiError : "");
  json.endObject();
}

// Live: the slices as the API server last acknowledged them. Offline: what the driver would
// publish from this scan, not published.
void pool(JsonWriter& json, const DraView& view) {
  const dra::DriverView* live = view.live ? &*view.live : nullptr;
  json.key("pool").beginObject();
  stringOrNull(json, "name", view.nodeName);
  json.key("published").value(live != nullptr && live->published);
  json.key("generation");
  if (live != nullptr && live->generation > 0) {
    json.value(live->generation);
  } else {
    json.null();
  }
  stringOrNull(json, "lastError", live != nullptr ? live->publishError : "");
  json.key("slices").beginArray();
  for (const auto& [name, devices] : live != nullptr ? live->slices : view.plannedSlices) {
    json.beginObject();
    json.key("name").value(name);
    json.key("devices").value(uint64_t{devices});
    json.endObject();
  }
  json.endArray();
  json.endObject();
}

void rbac(JsonWriter& json, const dra::DriverView* live) {
  json.key("rbac").beginObject();
  json.key("rules").beginArray();
  // In the shape of a ClusterRole's rules, so that they compare with rbac.yaml as they are.
  for (const dra::ApiRule& rule : dra::driverApiRules()) {
    json.beginObject();
    if (rule.nonResourceUrls.empty()) {
      strings(json, "apiGroups", rule.apiGroups);
      strings(json, "resources", rule.resources);
    } else {
      strings(json, "nonResourceURLs", rule.nonResourceUrls);
    }
    strings(json, "verbs", rule.verbs);
    json.endObject();
  }
  json.endArray();
  json.key("lastDenied");
  if (live == nullptr || !live->lastDenied) {
    json.null();
  } else {
    const dra::ApiDenial& denied = *live->lastDenied;
    json.beginObject();
    if (denied.access.nonResourceUrl.empty()) {
      json.key("apiGroup").value(denied.access.apiGroup);
      json.key("resource").value(denied.access.resource);
    } else {
      json.key("nonResourceURL").value(denied.access.nonResourceUrl);
    }
    json.key("verb").value(denied.access.verb);
    json.key("path").value(denied.path);
    json.key("message").value(denied.message);
    json.key("at").value(denied.at);
    json.key("granted").value(dra::permitted(denied.access));
    json.endObject();
  }
  json.endObject();
}

}  // namespace

void stringOrNull(JsonWriter& json, std::string_view key, std::string_view value) {
  json.key(key);
  if (value.empty()) {
    json.null();
  } else {
    json.value(value);
  }
}

bool servesDra(const config::Config& config) {
  if (!config.dra) return false;
  for (const config::Resource& resource : config.resources) {
    if (config::servedThroughDra(resource)) return true;
  }
  return false;
}

DraView draViewOf(const config::Config& config, std::string nodeName) {
  DraView view;
  if (!config.dra) return view;
  draplugin::DraPluginSettings kubelet =
      draplugin::draPluginSettings(*config.dra, config.cdiDir, nodeName);
  view.driverName = config.dra->driverName;
  view.nodeName = std::move(nodeName);
  view.registrationSocket = draplugin::draRegistrationSocketPath(kubelet);
  view.pluginSocket = draplugin::draEndpointPath(kubelet);
  view.kubeconfig = config.dra->kubeconfig;
  return view;
}

void draSection(JsonWriter& json, const DescribeInputs& inputs, const config::Config& config) {
  json.key("dra");
  if (!inputs.dra) {
    json.null();
    return;
  }
  const DraView& view = *inputs.dra;
  const dra::DriverView* live = view.live ? &*view.live : nullptr;
  json.beginObject();
  json.key("driverName").value(view.driverName);
  stringOrNull(json, "nodeName", view.nodeName);
  json.key("registrationSocket").value(view.registrationSocket);
  json.key("pluginSocket").value(view.pluginSocket);
  kubeconfig(json, view);
  resources(json, config);
  api(json, live);
  boolOrNull(json, "registered", live, &dra::DriverView::registered);
  pool(json, view);
  json.key("preparedClaims");
  if (live == nullptr) {
    json.null();
  } else {
    json.value(uint64_t{live->preparedClaims});
  }
  rbac(json, live);
  json.endObject();
}

}  // namespace udp::governance
