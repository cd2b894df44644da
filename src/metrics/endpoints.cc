#include "metrics/endpoints.h"

#include <utility>

namespace udp::metrics {

HttpHandler makeEndpointHandler(Metrics& metrics, EndpointHooks hooks) {
  return [&metrics, hooks = std::move(hooks)](std::string_view,
                                              std::string_view path) -> HttpResponse {
    if (path == "/metrics") {
      if (hooks.refresh) hooks.refresh(metrics);
      return {200, std::string(kPrometheusContentType), metrics.renderPrometheus()};
    }
    // Liveness: answering at all proves the reactor turns.
    if (path == "/healthz" || path == "/livez") return textResponse(200, "ok");
    if (path == "/readyz") {
      if (hooks.failing) {
        if (std::string failing = hooks.failing(); !failing.empty()) {
          return textResponse(503, "not ready: " + failing);
        }
      }
      bool ready = !hooks.ready || hooks.ready();
      return ready ? textResponse(200, "ready") : textResponse(503, "not ready");
    }
    if (path == "/") return textResponse(200, "/metrics /healthz /readyz");
    return textResponse(404, "not found");
  };
}

}  // namespace udp::metrics
