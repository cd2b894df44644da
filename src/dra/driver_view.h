#pragma once

// What a running DRA driver shows of itself (Driver::view()), apart from the driver so that
// `describe` does not need the driver's whole header.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "dra/api_access.h"

namespace udp::dra {

// A running driver as `describe` shows it (governance/describe_dra.cc).
struct DriverView {
  std::string apiServer;  // the URL as configured
  bool apiConnected = false;
  std::string apiError;    // the client's last error; empty when none
  bool published = false;  // the pool at the API server equals the inventory
  std::string publishError;
  int64_t generation = 0;  // of the last round that completed
  // The pool's slices the API server holds: name -> devices, as acknowledged.
  std::map<std::string, size_t, std::less<>> slices;
  size_t preparedClaims = 0;
  bool registered = false;  // with the kubelet's plugin watcher
  // The last request the API server refused with 403, until the same access succeeds.
  std::optional<ApiDenial> lastDenied;
};

}  // namespace udp::dra
