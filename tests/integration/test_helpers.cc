#include "test_helpers.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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

HttpAnswer httpGet(const std::string& socket, const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  HttpAnswer answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return answer;
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  if (response.size() > 12) answer.status = std::stoi(response.substr(9, 3));
  if (auto body = response.find("\r\n\r\n"); body != std::string::npos) {
    answer.body = response.substr(body + 4);
  }
  return answer;
}

}  // namespace udp::testing
