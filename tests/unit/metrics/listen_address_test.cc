// --metrics-address parsing: the accepted forms, the refusals, and format/parse round trips.

#include "metrics/listen_address.h"

#include <doctest/doctest.h>

#include <string>

using namespace udp::metrics;

TEST_CASE("accepted addresses and their canonical text") {
  struct Case {
    const char* input;
    ListenAddress::Kind kind;
    uint16_t port;
    const char* canonical;
  };
  const Case cases[] = {
      {"127.0.0.1:9100", ListenAddress::Kind::kIpv4, 9100, "127.0.0.1:9100"},
      {"0.0.0.0:0", ListenAddress::Kind::kIpv4, 0, "0.0.0.0:0"},
      {"localhost:65535", ListenAddress::Kind::kIpv4, 65535, "127.0.0.1:65535"},
      {"[::1]:9100", ListenAddress::Kind::kIpv6, 9100, "[::1]:9100"},
      {"[::]:0", ListenAddress::Kind::kIpv6, 0, "[::]:0"},
      {"[0:0:0:0:0:0:0:1]:80", ListenAddress::Kind::kIpv6, 80, "[::1]:80"},
      {"[::ffff:10.0.0.1]:1", ListenAddress::Kind::kIpv6, 1, "[::ffff:10.0.0.1]:1"},
      {"unix:/run/udev-device-plugin/metrics.sock", ListenAddress::Kind::kUnix, 0,
       "unix:/run/udev-device-plugin/metrics.sock"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    auto parsed = parseListenAddress(c.input);
    REQUIRE(parsed.ok());
    CHECK(parsed->kind == c.kind);
    CHECK(parsed->port == c.port);
    CHECK(formatListenAddress(*parsed) == c.canonical);
    auto again = parseListenAddress(formatListenAddress(*parsed));
    REQUIRE(again.ok());
    CHECK(*again == *parsed);
  }
  auto v4 = parseListenAddress("10.1.2.3:8");
  REQUIRE(v4.ok());
  CHECK(v4->ip[0] == 10);
  CHECK(v4->ip[3] == 3);
  CHECK(parseListenAddress("unix:/x")->path == "/x");
}

TEST_CASE("refused addresses say why") {
  const char* refused[] = {
      "",
      "9100",
      ":9100",
      "127.0.0.1",
      "127.0.0.1:",
      "127.0.0.1:65536",
      "127.0.0.1:-1",
      "127.0.0.1:+80",
      "127.0.0.1:080",
      "127.0.0.1:8o",
      "256.0.0.1:80",
      "1.2.3:80",
      "example.com:80",
      "::1:9100",
      "[::1]",
      "[::1]:",
      "[1.2.3.4]:80",
      "[fe80::1%eth0]:80",
      "[::1:80",
      "unix:",
      "unix:relative.sock",
      "unix",
  };
  for (const char* text : refused) {
    CAPTURE(text);
    auto parsed = parseListenAddress(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code < 0);
    CHECK(parsed.error().message.find("invalid listen address") != std::string::npos);
  }
  CHECK(parseListenAddress("::1:9100").error().message.find("brackets") != std::string::npos);
  CHECK(parseListenAddress(std::string("unix:/a\0b", 9)).error().message.find("NUL") !=
        std::string::npos);
  std::string longest = "unix:/" + std::string(106, 'p');  // 107 bytes of path: fits sun_path
  CHECK(parseListenAddress(longest).ok());
  CHECK_FALSE(parseListenAddress(longest + "p").ok());
}
