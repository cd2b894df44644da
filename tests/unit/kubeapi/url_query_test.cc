#include "kubeapi/url_query.h"

#include <doctest/doctest.h>

#include <string>

namespace udp::kubeapi {
namespace {

TEST_CASE("the unreserved characters are kept, every other byte is %XX") {
  CHECK(escapeQueryComponent("") == "");
  CHECK(escapeQueryComponent("AZaz09-._~") == "AZaz09-._~");
  CHECK(escapeQueryComponent("spec.nodeName=node-1,spec.driver=udev.example.com") ==
        "spec.nodeName%3Dnode-1%2Cspec.driver%3Dudev.example.com");
  // A continue token is base64: '+', '/' and the padding '=' must not reach the server as
  // themselves ('+' would be read as a space).
  CHECK(escapeQueryComponent("eyJ2Ijo+/Nzc=") == "eyJ2Ijo%2B%2FNzc%3D");
  CHECK(escapeQueryComponent(" &?#%!*'()[]:@$;") ==
        "%20%26%3F%23%25%21%2A%27%28%29%5B%5D%3A%40%24%3B");
  CHECK(escapeQueryComponent(std::string("a\0b", 3)) == "a%00b");
  CHECK(escapeQueryComponent("\x7f\x80\xff") == "%7F%80%FF");
  CHECK(escapeQueryComponent("é") == "%C3%A9");
}

TEST_CASE("parameters are joined with '?' then '&'") {
  std::string path = "/apis/resource.k8s.io/v1/resourceslices";
  addQueryParameter(path, "fieldSelector", "spec.nodeName=n1");
  CHECK(path == "/apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName%3Dn1");
  addQueryParameter(path, "limit", "500");
  addQueryParameter(path, "continue", "a+b=");
  CHECK(path ==
        "/apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName%3Dn1&limit=500&"
        "continue=a%2Bb%3D");
  std::string empty = "/x";
  addQueryParameter(empty, "resourceVersion", "");
  CHECK(empty == "/x?resourceVersion=");
}

}  // namespace
}  // namespace udp::kubeapi
