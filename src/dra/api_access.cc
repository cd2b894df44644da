#include "dra/api_access.h"

#include <algorithm>
#include <array>
#include <vector>

#include "kubeapi/url_query.h"

namespace udp::dra {
namespace {

// The slices: listed and watched at start (slice_publisher.cc), created, updated and deleted
// by every round. Never fetched one by one, never patched.
constexpr std::array<std::string_view, 1> kResourceGroup = {kResourceApiGroup};
constexpr std::array<std::string_view, 1> kSlices = {"resourceslices"};
constexpr std::array<std::string_view, 5> kSliceVerbs = {"list", "watch", "create", "update",
                                                         "delete"};
// A claim is read once per NodePrepareResources (Driver::fetch).
constexpr std::array<std::string_view, 1> kClaims = {"resourceclaims"};
constexpr std::array<std::string_view, 1> kClaimVerbs = {"get"};
// The API server's version decides taints and the NUMA attribute (Driver::askServerVersion);
// every authenticated user may read it (system:public-info-viewer), the rule says so anyway.
constexpr std::array<std::string_view, 1> kVersionUrls = {kVersionPath};
constexpr std::array<std::string_view, 1> kGet = {"get"};

constexpr std::array<ApiRule, 3> kRules = {{
    {kResourceGroup, kSlices, {}, kSliceVerbs},
    {kResourceGroup, kClaims, {}, kClaimVerbs},
    {{}, {}, kVersionUrls, kGet},
}};

constexpr std::string_view kResourceApiV1 = "/apis/resource.k8s.io/v1";

bool contains(std::span<const std::string_view> values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (at < path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    if (end > at) parts.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return parts;
}

// watch=true (or 1) among the query's parameters: a GET is then a watch.
bool watchQuery(std::string_view query) {
  size_t at = 0;
  while (at <= query.size()) {
    size_t end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    std::string_view parameter = query.substr(at, end - at);
    if (parameter == "watch=true" || parameter == "watch=1") return true;
    at = end + 1;
  }
  return false;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::span<const ApiRule> driverApiRules() {
  return kRules;
}

std::string sliceCollectionPath() {
  return std::string(kResourceApiV1) + "/resourceslices";
}

std::string sliceFieldSelector(std::string_view nodeName, std::string_view driverName) {
  return "spec.nodeName=" + std::string(nodeName) + ",spec.driver=" + std::string(driverName);
}

std::string sliceListPath(std::string_view nodeName, std::string_view driverName) {
  std::string path = sliceCollectionPath();
  kubeapi::addQueryParameter(path, "fieldSelector", sliceFieldSelector(nodeName, driverName));
  return path;
}

std::string claimPath(std::string_view namespaceName, std::string_view name) {
  return std::string(kResourceApiV1) + "/namespaces/" + std::string(namespaceName) +
         "/resourceclaims/" + std::string(name);
}

// After k8s.io/apiserver's RequestInfoFactory, for what it needs here: /api/v1/... (core) and
// /apis/<group>/<version>/..., optionally namespaced; anything else is a non-resource URL.
ApiAccess accessOf(std::string_view method, std::string_view path) {
  std::string_view query;
  if (size_t mark = path.find('?'); mark != std::string_view::npos) {
    query = path.substr(mark + 1);
    path = path.substr(0, mark);
  }
  ApiAccess access;
  std::vector<std::string_view> parts = segments(path);
  size_t first = 0;
  if (parts.size() >= 3 && parts[0] == "apis") {
    access.apiGroup = parts[1];
    first = 3;
  } else if (parts.size() >= 2 && parts[0] == "api") {
    first = 2;
  } else {
    access.nonResourceUrl = path;
    access.verb = lower(method);
    return access;
  }
  std::span<const std::string_view> rest(parts.begin() + static_cast<ptrdiff_t>(first),
                                         parts.end());
  // namespaces/<ns>/<resource>...; "namespaces/<ns>" alone is the namespace itself.
  if (rest.size() >= 3 && rest[0] == "namespaces") rest = rest.subspan(2);
  if (rest.empty()) {
    // A discovery document (/apis/<group>/<version>): authorized as a non-resource URL.
    access.apiGroup.clear();
    access.nonResourceUrl = path;
    access.verb = lower(method);
    return access;
  }
  access.resource = rest[0];
  if (rest.size() >= 3) access.resource += "/" + std::string(rest[2]);
  bool named = rest.size() >= 2;
  if (method == "GET" || method == "HEAD") {
    access.verb = watchQuery(query) ? "watch" : named ? "get" : "list";
  } else if (method == "POST") {
    access.verb = "create";
  } else if (method == "PUT") {
    access.verb = "update";
  } else if (method == "PATCH") {
    access.verb = "patch";
  } else if (method == "DELETE") {
    access.verb = named ? "delete" : "deletecollection";
  } else {
    access.verb = lower(method);
  }
  return access;
}

bool permitted(const ApiAccess& access) {
  for (const ApiRule& rule : kRules) {
    if (!contains(rule.verbs, access.verb)) continue;
    if (!access.nonResourceUrl.empty()) {
      if (contains(rule.nonResourceUrls, access.nonResourceUrl)) return true;
    } else if (contains(rule.apiGroups, access.apiGroup) &&
               contains(rule.resources, access.resource)) {
      return true;
    }
  }
  return false;
}

}  // namespace udp::dra
