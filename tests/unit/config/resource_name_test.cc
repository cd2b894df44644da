#include "config/resource_name.h"

#include <doctest/doctest.h>

#include <string>

using udp::config::resourceNameError;

namespace {

// The message for `name`, or "" when accepted, so a failure prints what was said.
std::string errorOf(const std::string& name) {
  return resourceNameError(name).value_or("");
}

bool accepted(const std::string& name) {
  return !resourceNameError(name).has_value();
}

}  // namespace

TEST_CASE("names the kubelet accepts") {
  for (const char* name : {
           "example.com/serial",
           "example.com/a",
           "example.com/A",
           "example.com/9",
           "example.com/Serial_Port-1.0",
           "example.com/a.b",
           "example.com/a_b",
           "example.com/a-b",
           "example/serial",         // one label is a subdomain
           "1/x",                    // digits are fine in both parts
           "a-b.c-d.example.com/x",  // dashes inside labels
           "nvidia.com/gpu",
           "intel.com/qat",
           "xn--bcher-kva.example/dev",  // punycode is plain ASCII
           "k8s.io/device",              // only kubernetes.io/ is reserved
           "kubernetes.io.example.com/x",
           "example.com/kubernetes.io",  // no '/' after kubernetes.io
           "example.com/requests.x",     // only a leading requests. is reserved
           "requestsx.example.com/x",
       }) {
    CAPTURE(name);
    CHECK(errorOf(name) == "");
  }
}

TEST_CASE("the name needs a '/'") {
  for (const char* name : {"", "serial", "example.com", "example.com\\serial"}) {
    CAPTURE(name);
    CHECK(errorOf(name).find("must contain a '/'") != std::string::npos);
  }
}

TEST_CASE("kubernetes.io/ anywhere makes the name native") {
  for (const char* name : {"kubernetes.io/gpu", "foo.kubernetes.io/gpu", "xkubernetes.io/gpu",
                           "node.kubernetes.io/x"}) {
    CAPTURE(name);
    CHECK(errorOf(name).find("kubernetes.io/") != std::string::npos);
  }
}

TEST_CASE("requests. is reserved for quota") {
  CHECK(errorOf("requests.example.com/gpu").find("requests.") != std::string::npos);
  CHECK(errorOf("requests./x").find("requests.") != std::string::npos);
  CHECK(accepted("request.example.com/gpu"));
}

TEST_CASE("exactly one '/'") {
  CHECK(errorOf("example.com/a/b") == "must contain exactly one '/'");
  CHECK(errorOf("example.com//b") == "must contain exactly one '/'");
  CHECK(errorOf("/a/") == "must contain exactly one '/'");
}

TEST_CASE("the domain is a lowercase RFC 1123 subdomain") {
  CHECK(errorOf("/serial").find("must have a domain") != std::string::npos);
  for (const char* name : {
           "Example.com/x",         // upper case
           "EXAMPLE/x",             //
           "-example.com/x",        // label starts with '-'
           "example-.com/x",        // label ends with '-'
           "example.-com/x",        //
           "example..com/x",        // empty label
           ".example.com/x",        //
           "example.com./x",        // trailing dot
           "exa_mple.com/x",        // underscore
           "exa mple.com/x",        // space
           "ex\xc3\xa4mple.com/x",  // non-ASCII bytes
           "example.com:80/x",      // port
       }) {
    CAPTURE(name);
    CHECK(errorOf(name).find("RFC 1123 subdomain") != std::string::npos);
  }
}

TEST_CASE("the domain may be 244 characters, since the kubelet prepends 'requests.'") {
  // Labels have no length limit of their own in the kubelet's regexp.
  std::string domain244(244, 'a');
  CHECK(accepted(domain244 + "/x"));
  std::string domain245(245, 'a');
  CHECK(errorOf(domain245 + "/x").find("at most 244 characters") != std::string::npos);
  std::string dotted;  // "a.a.a…" of 243 characters
  while (dotted.size() < 243) dotted += dotted.empty() ? "a" : ".a";
  CHECK(accepted(dotted + "/x"));
  CHECK(
      !accepted(std::string(253, 'a') + "/x"));  // a valid subdomain alone, but not with requests.
}

TEST_CASE("the name after the '/' is a qualified name of at most 63 characters") {
  CHECK(errorOf("example.com/").find("must have a name after") != std::string::npos);
  CHECK(accepted("example.com/" + std::string(63, 'x')));
  CHECK(errorOf("example.com/" + std::string(64, 'x')) ==
        "name after the '/' must be at most 63 characters, not 64");
  for (const char* name : {
           "example.com/-x",        // starts with '-'
           "example.com/x-",        // ends with '-'
           "example.com/_x",        //
           "example.com/x_",        //
           "example.com/.x",        //
           "example.com/x.",        //
           "example.com/a b",       // space
           "example.com/a:b",       //
           "example.com/a=b",       //
           "example.com/a+b",       //
           "example.com/\xc3\xa4",  // non-ASCII
           "example.com/a\n",       // Go's $ does not match before a trailing newline
       }) {
    CAPTURE(name);
    CHECK(errorOf(name).find("letters, digits") != std::string::npos);
  }
}

TEST_CASE("a NUL byte is rejected, not a terminator") {
  std::string name("example.com/ab", 14);
  name[13] = '\0';
  CHECK(!accepted(name));
}
