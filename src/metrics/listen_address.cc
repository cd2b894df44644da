#include "metrics/listen_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/un.h>

#include <cstring>

namespace udp::metrics {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;

Error invalid(std::string_view text, std::string_view why) {
  return makeError(-EINVAL, "invalid listen address \"" + std::string(text) +
                                "\": " + std::string(why) +
                                " (expected HOST:PORT, [IPV6]:PORT or unix:/PATH)");
}

// Decimal, no sign, no leading zeros (except "0"), at most 65535.
bool parsePort(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// inet_pton needs a NUL-terminated string; the host part is short, so a bounded copy is enough.
bool parseIp(int family, std::string_view host, std::array<uint8_t, 16>& ip) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (host.empty() || host.size() >= sizeof buf) return false;
  memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  return inet_pton(family, buf, ip.data()) == 1;
}

}  // namespace

Result<ListenAddress> parseListenAddress(std::string_view text) {
  ListenAddress address;
  if (text.starts_with(kUnixPrefix)) {
    std::string_view path = text.substr(kUnixPrefix.size());
    // A relative path would depend on the daemon's working directory, which systemd sets to /.
    if (path.empty() || path[0] != '/') return invalid(text, "the socket path must be absolute");
    if (path.size() > kMaxUnixPath) {
      return invalid(text,
                     "the socket path is longer than " + std::to_string(kMaxUnixPath) + " bytes");
    }
    if (path.find('\0') != std::string_view::npos) return invalid(text, "NUL in the path");
    address.kind = ListenAddress::Kind::kUnix;
    address.path = std::string(path);
    return address;
  }

  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return invalid(text, "no port");
  std::string_view host = text.substr(0, colon);
  if (!parsePort(text.substr(colon + 1), address.port)) return invalid(text, "bad port");

  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    address.kind = ListenAddress::Kind::kIpv6;
    if (!parseIp(AF_INET6, host.substr(1, host.size() - 2), address.ip)) {
      return invalid(text, "bad IPv6 address");
    }
    return address;
  }
  address.kind = ListenAddress::Kind::kIpv4;
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty()) return invalid(text, "no host (use 0.0.0.0 or [::] for every interface)");
  if (!parseIp(AF_INET, host, address.ip)) {
    return invalid(text, host.find(':') != std::string_view::npos
                             ? "an IPv6 address needs brackets"
                             : "the host must be a numeric IPv4 address or localhost");
  }
  return address;
}

std::string formatListenAddress(const ListenAddress& address) {
  if (address.kind == ListenAddress::Kind::kUnix) return std::string(kUnixPrefix) + address.path;
  char buf[INET6_ADDRSTRLEN];
  bool v6 = address.kind == ListenAddress::Kind::kIpv6;
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, address.ip.data(), buf, sizeof buf) == nullptr) {
    buf[0] = '\0';  // cannot happen: the buffer fits every address
  }
  std::string host = v6 ? "[" + std::string(buf) + "]" : std::string(buf);
  return host + ":" + std::to_string(address.port);
}

}  // namespace udp::metrics
