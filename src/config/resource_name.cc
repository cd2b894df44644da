#include "config/resource_name.h"

#include <cstddef>

#include "config/dns_name.h"

// The kubelet's devicemanager accepts a name when v1helper.IsExtendedResourceName holds:
//   - not native: contains '/' and does not contain "kubernetes.io/" anywhere;
//   - does not start with "requests.";
//   - IsQualifiedName("requests." + name): exactly one '/', the part before it a DNS-1123
//     subdomain of at most 253 bytes, the part after it 1..63 bytes of
//     [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?.
// Because "requests." is glued to the front before the subdomain check, the prefix we see may
// only be 244 bytes long. Go's len() and regexps work on bytes, and so do we: any non-ASCII
// byte fails.

namespace udp::config {
namespace {

constexpr std::string_view kQuotaPrefix = "requests.";
constexpr std::size_t kNameMax = 63;

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
bool isQualifiedNamePart(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  for (char c : s) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> resourceNameError(std::string_view name) {
  std::size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    return "must contain a '/' after a domain (e.g. example.com/device); the kubelet treats a "
           "name without one as a native Kubernetes resource";
  }
  if (name.find("kubernetes.io/") != std::string_view::npos) {
    return "must not contain 'kubernetes.io/': that namespace is reserved for native Kubernetes "
           "resources";
  }
  if (name.starts_with(kQuotaPrefix)) {
    return "must not start with 'requests.': that prefix is reserved for resource quotas";
  }
  if (name.find('/', slash + 1) != std::string_view::npos) {
    return "must contain exactly one '/'";
  }
  std::string_view prefix = name.substr(0, slash);
  std::string_view rest = name.substr(slash + 1);
  if (prefix.empty()) return "must have a domain before the '/' (e.g. example.com/device)";
  if (kQuotaPrefix.size() + prefix.size() > kDnsSubdomainMax) {
    return "domain before the '/' must be at most " +
           std::to_string(kDnsSubdomainMax - kQuotaPrefix.size()) +
           " characters (the kubelet checks 'requests.' + the domain against the 253-character "
           "DNS subdomain limit)";
  }
  if (!isDns1123Subdomain(prefix)) {
    return "domain before the '/' must be a lowercase RFC 1123 subdomain: lowercase letters, "
           "digits, '-' and '.', each dot-separated label starting and ending with a letter or "
           "digit (e.g. example.com)";
  }
  if (rest.empty()) return "must have a name after the '/' (e.g. example.com/device)";
  if (rest.size() > kNameMax) {
    return "name after the '/' must be at most 63 characters, not " + std::to_string(rest.size());
  }
  if (!isQualifiedNamePart(rest)) {
    return "name after the '/' must consist of letters, digits, '-', '_' or '.', and start and "
           "end with a letter or digit";
  }
  return std::nullopt;
}

}  // namespace udp::config
