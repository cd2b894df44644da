#pragma once

// When a lost connection to the API server makes the DRA driver not ready (/readyz 503, the
// dra_driver component down). The API server closes connections routinely (GOAWAY on its
// connection limits, a restart of one of several replicas) and the client reconnects within
// milliseconds; reporting each of those would flap readiness for nothing. So an outage counts
// only once it has lasted kApiOutageGrace, except before the pool was ever published: then there
// is nothing at the API server to stand on, and it counts at once. A failing publish round is
// another matter: it is reported at once (SlicePublisher::upToDate). Pure.

#include <chrono>
#include <optional>

namespace udp::dra {

// Long enough for a reconnect (and a few of the client's first backoff steps: 100 ms, 200 ms,
// ...), short enough that a real outage shows before the kubelet or an operator would wonder.
inline constexpr std::chrono::seconds kApiOutageGrace{5};

// When an outage that began at `disconnectedSince` (nullopt: connected, no outage) makes the
// driver not ready: at once before the pool was ever published, else kApiOutageGrace later;
// nullopt when there is no outage. The driver arms a timer for it, so that the change is
// reported when it happens and not at the next event.
std::optional<std::chrono::steady_clock::time_point> apiOutageCountsFrom(
    std::optional<std::chrono::steady_clock::time_point> disconnectedSince, bool everPublished);

// Whether that outage makes the driver not ready at `now`.
bool apiOutageCounts(std::optional<std::chrono::steady_clock::time_point> disconnectedSince,
                     bool everPublished, std::chrono::steady_clock::time_point now);

}  // namespace udp::dra
