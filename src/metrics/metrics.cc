#include "metrics/metrics.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <utility>

namespace udp::metrics {
namespace {

constexpr std::string_view kPrefix = "udev_device_plugin_";

template <typename Map>
typename Map::mapped_type& slot(Map& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(std::string(key), typename Map::mapped_type{}).first;
  return it->second;
}

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0.
size_t utf8SequenceLength(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return n;
}

// Label values are UTF-8 with `\`, `"` and newline escaped; an invalid byte becomes U+FFFD, so
// the scrape never fails because of one odd value.
void appendLabelValue(std::string& out, std::string_view value) {
  while (!value.empty()) {
    size_t n = utf8SequenceLength(value);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      n = 1;
    } else if (value[0] == '\\') {
      out += "\\\\";
    } else if (value[0] == '"') {
      out += "\\\"";
    } else if (value[0] == '\n') {
      out += "\\n";
    } else {
      out.append(value.substr(0, n));
    }
    value.remove_prefix(n);
  }
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers as integers; others in the shortest form that reads back exactly, with the
  // exponent rule of Go's %g (what client_golang writes, e.g. 1.70000000025e+09).
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return std::string(buf, end);
}

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    // HELP text escapes only `\` and newline; ours are constants without either.
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, Labels labels, std::string_view value) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, labelValue] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        appendLabelValue(out_, labelValue);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, Labels labels, uint64_t value) {
    sample(name, labels, std::to_string(value));
  }

  // A counter family over resource (or `key`) × result.
  template <typename Results>
  void results(std::string_view name, std::string_view help, const Results& results,
               std::string_view key = "resource") {
    if (results.empty()) return;
    family(name, "counter", help);
    for (const auto& [resource, byResult] : results) {
      for (const auto& [result, count] : byResult) {
        sample(name, {{key, resource}, {"result", result}}, count);
      }
    }
  }

  // One histogram's series over Metrics::kAllocateBuckets, with label `key`="value" unless
  // `key` is empty.
  template <typename Histogram>
  void histogram(const std::string& name, std::string_view key, std::string_view value,
                 const Histogram& h) {
    auto withLe = [&](const std::string& series, std::string_view le, std::string_view v) {
      if (key.empty()) {
        le.empty() ? sample(series, {}, v) : sample(series, {{"le", le}}, v);
      } else {
        le.empty() ? sample(series, {{key, value}}, v)
                   : sample(series, {{key, value}, {"le", le}}, v);
      }
    };
    uint64_t cumulative = 0;
    for (size_t i = 0; i < Metrics::kAllocateBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      withLe(name + "_bucket", formatValue(Metrics::kAllocateBuckets[i]),
             std::to_string(cumulative));
    }
    withLe(name + "_bucket", "+Inf", std::to_string(h.count));
    withLe(name + "_sum", {}, formatValue(h.sum));
    withLe(name + "_count", {}, std::to_string(h.count));
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string named(std::string_view suffix) {
  return std::string(kPrefix) + std::string(suffix);
}

}  // namespace

Metrics::Metrics(std::string version, std::string commit)
    : version_(std::move(version)),
      commit_(std::move(commit)),
      startTime_(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                     .count()) {}

void Metrics::setDevices(std::string_view resource, size_t healthy, size_t unhealthy) {
  slot(devices_, resource) = {healthy, unhealthy};
}

void Metrics::allocation(std::string_view resource, std::string_view result) {
  ++slot(slot(allocations_, resource), result);
}

void Metrics::observeAllocate(std::string_view resource, double seconds) {
  observe(slot(allocateDurations_, resource), seconds);
}

void Metrics::observe(Histogram& h, double seconds) {
  if (std::isnan(seconds)) return;  // would poison the sum for good
  for (size_t i = 0; i < kAllocateBuckets.size(); ++i) {
    if (seconds <= kAllocateBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::draSlicesPublished(double seconds) {
  dra_.enabled = true;
  ++dra_.sliceRounds;
  observe(dra_.slicePublish, seconds);
}

void Metrics::draClaim(std::string_view operation, std::string_view result, double seconds) {
  dra_.enabled = true;
  ++slot(slot(dra_.claims, operation), result);
  observe(slot(dra_.claimSeconds, operation), seconds);
}

void Metrics::setDraState(size_t devices, size_t slices, int64_t generation, bool apiConnected,
                          uint64_t apiErrors, uint64_t sliceWriteFailures) {
  dra_.enabled = true;
  dra_.driverRunning = true;
  dra_.devices = devices;
  dra_.slices = slices;
  dra_.generation = generation;
  dra_.apiConnected = apiConnected;
  dra_.apiErrors = apiErrors;
  dra_.sliceWriteFailures = sliceWriteFailures;
}

void Metrics::forgetDraDriver() {
  dra_.driverRunning = false;
}

void Metrics::preStart(std::string_view resource, std::string_view result) {
  ++slot(slot(preStarts_, resource), result);
}

void Metrics::registration(std::string_view resource, bool ok) {
  ++slot(slot(registrations_, resource), ok ? "ok" : "failed");
}

void Metrics::connectionsClosed(std::string_view resource, std::string_view result,
                                uint64_t count) {
  slot(slot(connectionsClosed_, resource), result) += count;
}

void Metrics::listOversize(std::string_view resource) {
  ++slot(listOversize_, resource);
}

void Metrics::uevent(std::string_view action) {
  static constexpr std::string_view kKnown[] = {"add",    "remove",  "change", "move",
                                                "online", "offline", "bind",   "unbind"};
  for (std::string_view known : kKnown) {
    if (action == known) {
      ++slot(uevents_, action);
      return;
    }
  }
  ++slot(uevents_, "other");
}

void Metrics::setStreams(std::string_view resource, size_t streams) {
  slot(streams_, resource) = streams;
}

void Metrics::setRegistered(std::string_view resource, bool registered) {
  slot(registered_, resource) = registered;
}

void Metrics::setComponentUp(std::string_view component, bool up) {
  slot(componentUp_, component) = up;
  slot(componentFailures_, component);  // the counter's series from 0, for rate()
}

void Metrics::componentFailure(std::string_view component) {
  ++slot(componentFailures_, component);
  // A failure with no series yet still shows as 0 from the first scrape on.
  slot(componentUp_, component) = false;
}

void Metrics::forgetResource(std::string_view resource) {
  if (auto it = devices_.find(resource); it != devices_.end()) devices_.erase(it);
  if (auto it = streams_.find(resource); it != streams_.end()) streams_.erase(it);
  if (auto it = registered_.find(resource); it != registered_.end()) registered_.erase(it);
}

std::string Metrics::renderPrometheus() const {
  Writer w;

  if (!devices_.empty()) {
    const std::string name = named("devices");
    w.family(name, "gauge", "Devices advertised to the kubelet, by resource and health.");
    for (const auto& [resource, counts] : devices_) {
      w.sample(name, {{"resource", resource}, {"health", "healthy"}}, counts.healthy);
      w.sample(name, {{"resource", resource}, {"health", "unhealthy"}}, counts.unhealthy);
    }
  }

  w.results(named("allocations_total"), "Allocate requests answered, by resource and result.",
            allocations_);

  if (!allocateDurations_.empty()) {
    const std::string name = named("allocate_duration_seconds");
    w.family(name, "histogram", "Time to answer an Allocate request, in seconds.");
    for (const auto& [resource, h] : allocateDurations_) w.histogram(name, "resource", resource, h);
  }

  w.results(named("prestart_total"), "PreStartContainer requests answered, by resource and result.",
            preStarts_);
  w.results(named("registrations_total"), "Register calls to the kubelet, by resource and result.",
            registrations_);
  w.results(named("grpc_connections_closed_total"),
            "gRPC connections the plugin closed: over_limit (too many at once) or no_request "
            "(no request in time), by resource.",
            connectionsClosed_);

  std::string name;
  if (!listOversize_.empty()) {
    name = named("listandwatch_oversize_total");
    w.family(
        name, "counter",
        "Device lists not sent for being over the kubelet's 4 MiB message limit, by resource.");
    for (const auto& [resource, n] : listOversize_) w.sample(name, {{"resource", resource}}, n);
  }

  name = named("kubelet_restarts_total");
  w.family(name, "counter", "Kubelet restarts seen (kubelet.sock re-created).");
  w.sample(name, {}, kubeletRestarts_);

  if (!uevents_.empty()) {
    name = named("uevents_total");
    w.family(name, "counter", "Device events received, by action.");
    for (const auto& [action, count] : uevents_) w.sample(name, {{"action", action}}, count);
  }

  name = named("rescans_total");
  w.family(name, "counter", "Full device rescans after lost events.");
  w.sample(name, {}, rescans_);

  if (!streams_.empty()) {
    name = named("listandwatch_streams");
    w.family(name, "gauge", "Open ListAndWatch streams, by resource.");
    for (const auto& [resource, n] : streams_) w.sample(name, {{"resource", resource}}, n);
  }

  if (!registered_.empty()) {
    name = named("registered");
    w.family(name, "gauge", "1 while the resource is registered with the kubelet.");
    for (const auto& [resource, yes] : registered_) {
      w.sample(name, {{"resource", resource}}, uint64_t{yes ? 1u : 0u});
    }
  }

  if (!componentUp_.empty()) {
    name = named("component_up");
    w.family(name, "gauge", "1 while the component works; 0 while it has failed and is retrying.");
    for (const auto& [component, up] : componentUp_) {
      w.sample(name, {{"component", component}}, uint64_t{up ? 1u : 0u});
    }
  }

  if (!componentFailures_.empty()) {
    name = named("component_failures_total");
    w.family(name, "counter", "Failures of a component that then retried, by component.");
    for (const auto& [component, n] : componentFailures_) {
      w.sample(name, {{"component", component}}, n);
    }
  }

  if (dra_.enabled) {
    name = named("dra_slice_rounds_total");
    w.family(
        name, "counter",
        "Rounds of ResourceSlice writes the API server acknowledged (one pool generation each).");
    w.sample(name, {}, dra_.sliceRounds);
    name = named("dra_slice_publish_seconds");
    w.family(name, "histogram",
             "From an inventory change to the API server's acknowledgement of the slices that "
             "carry it, in seconds.");
    w.histogram(name, {}, {}, dra_.slicePublish);
    w.results(named("dra_claims_total"),
              "ResourceClaims prepared and unprepared for the kubelet, by operation and result.",
              dra_.claims, "operation");
    if (!dra_.claimSeconds.empty()) {
      name = named("dra_claim_seconds");
      w.family(name, "histogram", "Time to answer the kubelet for one claim, in seconds.");
      for (const auto& [operation, h] : dra_.claimSeconds)
        w.histogram(name, "operation", operation, h);
    }
    if (dra_.driverRunning) {
      name = named("dra_devices");
      w.family(name, "gauge", "Devices in this node's DRA pool.");
      w.sample(name, {}, uint64_t{dra_.devices});
      name = named("dra_slices");
      w.family(name, "gauge", "ResourceSlices of this node's pool at the API server.");
      w.sample(name, {}, uint64_t{dra_.slices});
      name = named("dra_pool_generation");
      w.family(name, "gauge", "The pool generation last acknowledged by the API server.");
      w.sample(name, {}, formatValue(static_cast<double>(dra_.generation)));
      name = named("dra_api_connected");
      w.family(name, "gauge", "1 while the connection to the API server is up.");
      w.sample(name, {}, uint64_t{dra_.apiConnected ? 1u : 0u});
    }
    name = named("dra_api_errors_total");
    w.family(name, "counter",
             "API client failures: connections that failed or were lost, requests without answer.");
    w.sample(name, {}, dra_.apiErrors);
    name = named("dra_slice_write_failures_total");
    w.family(name, "counter", "ResourceSlice requests that failed (conflicts not included).");
    w.sample(name, {}, dra_.sliceWriteFailures);
  }

  name = named("build_info");
  w.family(name, "gauge", "The running plugin's version and commit; always 1.");
  w.sample(name, {{"version", version_}, {"commit", commit_}}, uint64_t{1});

  name = named("reactor_turns_total");
  w.family(name, "counter", "Event loop iterations.");
  w.sample(name, {}, reactorTurns_);

  w.family("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
  w.sample("process_start_time_seconds", {}, formatValue(startTime_));

  return w.take();
}

}  // namespace udp::metrics
