#pragma once

// What the DRA driver asks of the API server, in RBAC's terms (docs/dra.md, "RBAC"): the one
// list of rules the driver needs, which `describe` prints and packaging/kubernetes/dra/rbac.yaml
// grants (tests/deploy/check-manifests compares the two), the request paths the driver builds,
// and the mapping from a request to the resource and verb the API server authorizes, so that a
// 403 can name the rule that is missing.

#include <span>
#include <string>
#include <string_view>

namespace udp::dra {

// One rule of a ClusterRole: either resources of API groups or non-resource URLs, with verbs.
struct ApiRule {
  std::span<const std::string_view> apiGroups;
  std::span<const std::string_view> resources;
  std::span<const std::string_view> nonResourceUrls;
  std::span<const std::string_view> verbs;
};

// Everything the driver does at the API server, nothing more; in the order of rbac.yaml.
std::span<const ApiRule> driverApiRules();

inline constexpr std::string_view kResourceApiGroup = "resource.k8s.io";
inline constexpr std::string_view kVersionPath = "/version";

// POST target of our slices; one slice's path is this + "/" + name.
std::string sliceCollectionPath();
// The field selector of this node's slices of this driver, unescaped.
std::string sliceFieldSelector(std::string_view nodeName, std::string_view driverName);
// GET (list; with more parameters the pages and the watch): the collection with that selector.
std::string sliceListPath(std::string_view nodeName, std::string_view driverName);
// GET: one ResourceClaim.
std::string claimPath(std::string_view namespaceName, std::string_view name);

// What the API server authorizes a request as (its RequestInfo): for a resource request the API
// group, the resource (with "/subresource") and the verb (get, list, watch, create, update,
// patch, delete, deletecollection); otherwise the URL and the HTTP method in lower case.
struct ApiAccess {
  std::string apiGroup;        // "" for the core group and for non-resource URLs
  std::string resource;        // "" for a non-resource URL
  std::string nonResourceUrl;  // the path, for a non-resource URL
  std::string verb;

  bool operator==(const ApiAccess&) const = default;
};

// `path` as given to the API client (below the server's prefix), query included.
ApiAccess accessOf(std::string_view method, std::string_view path);

// Whether driverApiRules() grant `access`.
bool permitted(const ApiAccess& access);

// A request the API server refused with 403 Forbidden.
struct ApiDenial {
  ApiAccess access;
  std::string path;     // without the query
  std::string message;  // the API server's Status message, or its answer in a line
  std::string at;       // when (RFC 3339, UTC)
};

}  // namespace udp::dra
