#pragma once

// What the metrics server serves: /metrics (Prometheus), /healthz (the event loop answers) and
// /readyz (the caller's idea of ready, e.g. every resource registered with the kubelet).

#include <functional>
#include <string>

#include "metrics/http_response.h"
#include "metrics/metrics.h"

namespace udp::metrics {

struct EndpointHooks {
  // Before each /metrics render: copy in what is only sampled (e.g. the reactor's turn count).
  std::function<void(Metrics&)> refresh;
  // /readyz answers 200 while this returns true, 503 otherwise; unset means always ready.
  std::function<bool()> ready;
  // What is failing, for /readyz's body (e.g. "kubelet_dir_watch: inotify_add_watch ...");
  // anything but empty answers 503 whatever `ready` says.
  std::function<std::string()> failing;
};

// `metrics` is borrowed and must outlive the handler.
HttpHandler makeEndpointHandler(Metrics& metrics, EndpointHooks hooks = {});

}  // namespace udp::metrics
