#pragma once

// Small helpers shared by the integration tests: device-list predicates for the simulator's
// waits, polling for a condition, latency percentiles, reading a whole file, and a GET on the
// metrics socket.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "api.pb.h"

namespace udp::testing {

// The IDs of a ListAndWatch message, sorted.
std::vector<std::string> idsOf(const std::vector<v1beta1::Device>& devices);
// A predicate for KubeletSim::waitForDevices: exactly these IDs, in any order.
std::function<bool(const std::vector<v1beta1::Device>&)> idsAre(std::vector<std::string> expected);

// Polls `condition` every 10 ms until it holds or `timeout` passes; checks once more at the end.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Nearest rank: with fewer than 100 samples p99 is the maximum. `values` must not be empty.
double percentile(std::vector<double> values, double p);

// The whole file, or "" when it cannot be read.
std::string readFile(const std::string& path);

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// GET over a unix socket (the plugin's --metrics-address unix:PATH), HTTP/1.1 with
// Connection: close; status 0 when nobody answers.
HttpAnswer httpGet(const std::string& socket, const std::string& path);

}  // namespace udp::testing
