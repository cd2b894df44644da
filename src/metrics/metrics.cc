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

  // A counter family over resource × result.
  template <typename Results>
  void results(std::string_view name, std::string_view help, const Results& results) {
    if (results.empty()) return;
    family(name, "counter", help);
    for (const auto& [resource, byResult] : results) {
      for (const auto& [result, count] : byResult) {
        sample(name, {{"resource", resource}, {"result", result}}, count);
      }
    }
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
  if (std::isnan(seconds)) return;  // would poison the sum for good
  Histogram& h = slot(allocateDurations_, resource);
  for (size_t i = 0; i < kAllocateBuckets.size(); ++i) {
    if (seconds <= kAllocateBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
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
    for (const auto& [resource, h] : allocateDurations_) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < kAllocateBuckets.size(); ++i) {
        cumulative += h.buckets[i];
        w.sample(name + "_bucket",
                 {{"resource", resource}, {"le", formatValue(kAllocateBuckets[i])}}, cumulative);
      }
      w.sample(name + "_bucket", {{"resource", resource}, {"le", "+Inf"}}, h.count);
      w.sample(name + "_sum", {{"resource", resource}}, formatValue(h.sum));
      w.sample(name + "_count", {{"resource", resource}}, h.count);
    }
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
