#pragma once

// The DNS-1123 shapes Kubernetes names take (k8s.io/apimachinery/pkg/util/validation), as pure
// predicates on bytes: Go's len() and regexps work on bytes, so any non-ASCII byte fails.

#include <cstddef>
#include <string_view>

namespace udp::config {

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*, without the length limit
// (the callers' limits differ: 253 for object names, 63 for driver names).
bool isDns1123Subdomain(std::string_view name);

// IsDNS1123Subdomain's limit.
inline constexpr std::size_t kDnsSubdomainMax = 253;

}  // namespace udp::config
