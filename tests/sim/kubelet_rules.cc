#include "kubelet_rules.h"

#include <sys/stat.h>

#include <algorithm>
#include <iterator>
#include <string_view>

namespace udp::sim {
namespace {

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

// k8s.io/apimachinery IsDNS1123Subdomain.
bool isDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !isLowerAlnum(label.front()) || !isLowerAlnum(label.back())) return false;
    for (char c : label)
      if (!isLowerAlnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// k8s.io/apimachinery IsQualifiedName: [prefix/]name.
bool isQualifiedName(std::string_view v) {
  std::string_view name = v;
  size_t slash = v.find('/');
  if (slash != std::string_view::npos) {
    if (v.find('/', slash + 1) != std::string_view::npos) return false;
    if (!isDns1123Subdomain(v.substr(0, slash))) return false;
    name = v.substr(slash + 1);
  }
  if (name.empty() || name.size() > 63) return false;
  if (!isAlnum(name.front()) || !isAlnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

bool isExtendedResourceName(const std::string& name) {
  if (name.find('/') == std::string::npos) return false;               // native: no domain
  if (name.find("kubernetes.io/") != std::string::npos) return false;  // prefixed native
  if (name.starts_with("requests.")) return false;
  // The quota form "requests.<name>" must be a qualified name too.
  return isQualifiedName("requests." + name);
}

const char* goCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  auto i = static_cast<size_t>(code);
  return i < std::size(kNames) ? kNames[i] : "Unknown";
}

bool isSocket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace udp::sim
