#include "test_helpers.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace udp::testing {

std::vector<std::string> idsOf(const std::vector<v1beta1::Device>& devices) {
  std::vector<std::string> ids;
  for (const auto& d : devices) ids.push_back(d.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::function<bool(const std::vector<v1beta1::Device>&)> idsAre(std::vector<std::string> expected) {
  std::sort(expected.begin(), expected.end());
  return [expected = std::move(expected)](const std::vector<v1beta1::Device>& devices) {
    return idsOf(devices) == expected;
  };
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(p * static_cast<double>(values.size()));
  return values[std::min(values.size() - 1, rank)];
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace udp::testing
