#pragma once

// The plugin's Prometheus metrics: plain counters and gauges, updated and rendered on the
// reactor thread (no locks). Ordered maps keep the exposition deterministic.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace udp::metrics {

// The Content-Type of renderPrometheus()'s text.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class Metrics {
 public:
  // Upper bounds of the Allocate latency histogram, seconds: 50 µs to 1 s.
  static constexpr std::array<double, 10> kAllocateBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1};

  // The start time is now; see setProcessStartTime.
  Metrics(std::string version, std::string commit);

  void setDevices(std::string_view resource, size_t healthy, size_t unhealthy);
  // result: ok, unknown_device, unhealthy, invalid, error.
  void allocation(std::string_view resource, std::string_view result);
  void observeAllocate(std::string_view resource, double seconds);
  void preStart(std::string_view resource, std::string_view result);
  void registration(std::string_view resource, bool ok);
  // A ListAndWatch list withheld for being over the kubelet's message limit.
  void listOversize(std::string_view resource);
  // gRPC connections we closed ourselves: result "over_limit" or "no_request".
  void connectionsClosed(std::string_view resource, std::string_view result, uint64_t count);
  void kubeletRestart() { ++kubeletRestarts_; }
  // The kernel's action (add, remove, change, move, online, offline, bind, unbind); anything
  // else counts as "other", so a label value never comes unbounded from outside.
  void uevent(std::string_view action);
  void rescan() { ++rescans_; }
  void setStreams(std::string_view resource, size_t streams);
  void setRegistered(std::string_view resource, bool registered);
  void setReactorTurns(uint64_t turns) { reactorTurns_ = turns; }
  // A part that can fail on its own and retries (the device source, the kubelet directory
  // watch): a gauge while it works, and a counter of its failures.
  void setComponentUp(std::string_view component, bool up);
  void componentFailure(std::string_view component);
  void setProcessStartTime(double secondsSinceEpoch) { startTime_ = secondsSinceEpoch; }
  // The DRA driver (docs/dra.md): rounds of ResourceSlice writes and their latency from the
  // inventory change; claims prepared and unprepared (operation prepare|unprepare, result
  // ok|error|repeated) and their latency; the API client's state.
  void draSlicesPublished(double seconds);
  void draClaim(std::string_view operation, std::string_view result, double seconds);
  void setDraState(size_t devices, size_t slices, int64_t generation, bool apiConnected,
                   uint64_t apiErrors, uint64_t sliceWriteFailures);
  // A reload left nothing to serve through DRA: the driver's gauges go, as forgetResource's do;
  // its counters stay. The next setDraState brings the gauges back.
  void forgetDraDriver();
  // A resource gone from the config: its gauges go (they would report a stale state); its
  // counters stay, since counters only ever grow for rate().
  void forgetResource(std::string_view resource);

  // Text exposition format 0.0.4. Label-less families are always present; a labelled family
  // appears once it has a series.
  std::string renderPrometheus() const;

 private:
  template <typename T>
  using ByName = std::map<std::string, T, std::less<>>;
  // resource → result → count
  using Results = ByName<ByName<uint64_t>>;

  struct Histogram {
    std::array<uint64_t, kAllocateBuckets.size()> buckets{};  // not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  static void observe(Histogram& h, double seconds);

  struct DeviceCounts {
    size_t healthy = 0;
    size_t unhealthy = 0;
  };

  std::string version_;
  std::string commit_;
  double startTime_ = 0;
  ByName<DeviceCounts> devices_;
  Results allocations_;
  ByName<Histogram> allocateDurations_;
  Results preStarts_;
  Results registrations_;
  ByName<uint64_t> listOversize_;
  Results connectionsClosed_;
  uint64_t kubeletRestarts_ = 0;
  ByName<uint64_t> uevents_;
  uint64_t rescans_ = 0;
  ByName<size_t> streams_;
  ByName<bool> registered_;
  uint64_t reactorTurns_ = 0;
  ByName<bool> componentUp_;
  ByName<uint64_t> componentFailures_;
  struct DraState {
    bool enabled = false;
    bool driverRunning = false;  // the gauges describe a driver that still runs
    uint64_t sliceRounds = 0;
    Histogram slicePublish;
    Results claims;                  // operation → result → count
    ByName<Histogram> claimSeconds;  // operation → latency
    size_t devices = 0, slices = 0;
    int64_t generation = 0;
    bool apiConnected = false;
    uint64_t apiErrors = 0, sliceWriteFailures = 0;
  } dra_;
};

}  // namespace udp::metrics
