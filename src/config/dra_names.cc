#include "config/dra_names.h"

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>

#include "config/dns_name.h"
#include "config/node_reader.h"

namespace udp::config {
namespace {

constexpr std::size_t kDriverNameMax = 63;
constexpr std::size_t kAttributeValueMax = 64;

bool hasUpper(std::string_view text) {
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

std::string lowerTrimmed(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  std::size_t last = text.find_last_not_of(kSpace);
  std::string out(text.substr(first, last - first + 1));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::optional<std::string> draDriverNameError(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kDriverNameMax) {
    return "must be at most 63 characters, not " + std::to_string(name.size());
  }
  if (hasUpper(name)) {
    return "must be lower case: the API server lower-cases a driver name only to check it, while "
           "ResourceSlices, claims and CEL selectors compare it as written";
  }
  if (!isDns1123Subdomain(name)) {
    return "must be a DNS subdomain: lower-case letters, digits, '-' and '.', each dot-separated "
           "label starting and ending with a letter or digit (e.g. udev.example.com)";
  }
  if (name.front() < 'a' || name.front() > 'z') {
    return "must start with a letter: it is also the vendor of the claims' CDI devices, and CDI "
           "vendor names start with a letter";
  }
  return std::nullopt;
}

std::optional<std::string> nodeNameError(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kDnsSubdomainMax) {
    return "must be at most 253 characters, not " + std::to_string(name.size());
  }
  if (!isDns1123Subdomain(name)) {
    return "must be a DNS subdomain, as Node names are: lower-case letters, digits, '-' and '.', "
           "each dot-separated label starting and ending with a letter or digit";
  }
  return std::nullopt;
}

std::string deviceClassNameFor(std::string_view resourceName) {
  std::size_t slash = resourceName.find('/');
  if (slash == std::string_view::npos) return std::string(resourceName);
  std::string out(resourceName.substr(slash + 1));
  out += '.';
  out += resourceName.substr(0, slash);
  return out;
}

std::optional<std::string> draResourceNameError(std::string_view resourceName) {
  if (resourceName.size() > kAttributeValueMax) {
    return "is the devices' 'resource' attribute when served through DRA, and attribute values "
           "are at most 64 characters, not " +
           std::to_string(resourceName.size());
  }
  // At most 64 characters, so the class name is within the 253 of a subdomain.
  std::string className = deviceClassNameFor(resourceName);
  if (!isDns1123Subdomain(className)) {
    return "gives the DeviceClass name " + quote(className) +
           " (<name>.<domain>) when served through DRA, and that must be a DNS subdomain: use "
           "only lower-case letters, digits, '-' and '.' after the '/'";
  }
  return std::nullopt;
}

Result<std::string> resolveNodeName(std::string_view configured,
                                    std::optional<std::string_view> nodeNameEnv,
                                    std::string_view hostName) {
  if (!configured.empty()) return std::string(configured);
  if (nodeNameEnv && !nodeNameEnv->empty()) {
    if (auto problem = nodeNameError(*nodeNameEnv)) {
      return makeError(-EINVAL, "NODE_NAME " + quote(*nodeNameEnv) +
                                    " is not a valid node name: it " + *problem);
    }
    return std::string(*nodeNameEnv);
  }
  std::string host = lowerTrimmed(hostName);
  if (host.empty()) {
    return makeError(-EINVAL,
                     "no node name: dra.nodeName is not set, NODE_NAME is not set and the host "
                     "name is empty");
  }
  if (auto problem = nodeNameError(host)) {
    return makeError(-EINVAL, "the host name " + quote(host) + " is not a valid node name: it " +
                                  *problem + "; set dra.nodeName or NODE_NAME");
  }
  return host;
}

Result<std::string> resolveNodeName(std::string_view configured) {
  const char* env = ::getenv("NODE_NAME");
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return resolveNodeName(
      configured, env != nullptr ? std::optional<std::string_view>(env) : std::nullopt, host);
}

}  // namespace udp::config
