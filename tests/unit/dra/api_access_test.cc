// What the driver asks of the API server in RBAC's terms (dra/api_access.h): the requests it
// makes map to the resources and verbs the API server authorizes, and the rules grant exactly
// those.

#include "dra/api_access.h"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using udp::dra::accessOf;
using udp::dra::ApiAccess;
using udp::dra::permitted;

namespace {

struct Request {
  std::string method, path;
};

// Every request the driver makes, with the paths it builds: the publisher's list (paged), watch,
// create, update and delete of slices (slice_publisher.cc), the claim read of
// NodePrepareResources and the version question (driver.cc).
std::vector<Request> driverRequests() {
  std::string list = udp::dra::sliceListPath("worker-3", "udev.example.com");
  std::string slice = udp::dra::sliceCollectionPath() + "/worker-3-udev-example-com-0";
  return {
      {"GET", list + "&limit=500"},
      {"GET", list + "&limit=500&continue=abc%3D"},
      {"GET", list + "&watch=true&allowWatchBookmarks=true&resourceVersion=100"},
      {"POST", udp::dra::sliceCollectionPath()},
      {"PUT", slice},
      {"DELETE", slice},
      {"GET", udp::dra::claimPath("default", "gpu-claim")},
      {"GET", std::string(udp::dra::kVersionPath)},
  };
}

}  // namespace

TEST_CASE("API access: requests as the API server authorizes them") {
  CHECK(accessOf("GET", "/apis/resource.k8s.io/v1/resourceslices?fieldSelector=a%3Db&limit=500") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "list"});
  CHECK(accessOf("GET", "/apis/resource.k8s.io/v1/resourceslices?limit=1&watch=true") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "watch"});
  CHECK(accessOf("GET", "/apis/resource.k8s.io/v1/resourceslices?watch=false") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "list"});
  CHECK(accessOf("GET", "/apis/resource.k8s.io/v1/resourceslices/s1") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "get"});
  CHECK(accessOf("POST", "/apis/resource.k8s.io/v1/resourceslices") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "create"});
  CHECK(accessOf("PUT", "/apis/resource.k8s.io/v1/resourceslices/s1") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "update"});
  CHECK(accessOf("PATCH", "/apis/resource.k8s.io/v1/resourceslices/s1") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "patch"});
  CHECK(accessOf("DELETE", "/apis/resource.k8s.io/v1/resourceslices/s1") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "delete"});
  CHECK(accessOf("DELETE", "/apis/resource.k8s.io/v1/resourceslices") ==
        ApiAccess{"resource.k8s.io", "resourceslices", "", "deletecollection"});
  CHECK(accessOf("GET", "/apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/c") ==
        ApiAccess{"resource.k8s.io", "resourceclaims", "", "get"});
  CHECK(accessOf("PUT", "/apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/c/status") ==
        ApiAccess{"resource.k8s.io", "resourceclaims/status", "", "update"});
  // The core group; a namespace itself.
  CHECK(accessOf("GET", "/api/v1/nodes/n1") == ApiAccess{"", "nodes", "", "get"});
  CHECK(accessOf("GET", "/api/v1/namespaces/kube-system") ==
        ApiAccess{"", "namespaces", "", "get"});
  // Not a resource: the URL and the method.
  CHECK(accessOf("GET", "/version") == ApiAccess{"", "", "/version", "get"});
  CHECK(accessOf("GET", "/apis/resource.k8s.io/v1") ==
        ApiAccess{"", "", "/apis/resource.k8s.io/v1", "get"});
  CHECK(accessOf("GET", "") == ApiAccess{"", "", "", "get"});
}

TEST_CASE("API access: the rules grant every request the driver makes, and nothing else") {
  std::set<std::pair<std::string, std::string>> used;  // (resource or URL, verb)
  for (const Request& request : driverRequests()) {
    ApiAccess access = accessOf(request.method, request.path);
    INFO(request.method << " " << request.path);
    CHECK(permitted(access));
    used.emplace(access.resource.empty() ? access.nonResourceUrl : access.resource, access.verb);
  }
  std::set<std::pair<std::string, std::string>> granted;
  for (const udp::dra::ApiRule& rule : udp::dra::driverApiRules()) {
    for (std::string_view verb : rule.verbs) {
      for (std::string_view resource : rule.resources)
        granted.emplace(std::string(resource), std::string(verb));
      for (std::string_view url : rule.nonResourceUrls)
        granted.emplace(std::string(url), std::string(verb));
    }
  }
  CHECK(used == granted);

  CHECK_FALSE(permitted({"resource.k8s.io", "resourceslices", "", "patch"}));
  CHECK_FALSE(permitted({"resource.k8s.io", "resourceclaims", "", "list"}));
  CHECK_FALSE(permitted({"", "resourceslices", "", "list"}));
  CHECK_FALSE(permitted({"", "", "/healthz", "get"}));
}
