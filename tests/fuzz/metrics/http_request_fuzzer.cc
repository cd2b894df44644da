// libFuzzer target for the metrics server's request-head parser (DESIGN.md §5.6): arbitrary bytes
// never crash it and parse the same however they are split, pipelined requests included; and a
// request built from the input parses back to what was built.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/http_request_parser.h"

namespace {

using udp::metrics::HttpRequest;
using udp::metrics::HttpRequestParser;
using udp::metrics::ParseStatus;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "http_request_fuzzer: %s\n", what);
    std::abort();
  }
}

struct Parsed {
  std::vector<HttpRequest> requests;
  ParseStatus last = ParseStatus::kIncomplete;
  int error = 0;
  size_t consumed = 0;
};

bool operator==(const Parsed& a, const Parsed& b) {
  return a.requests == b.requests && a.last == b.last && a.error == b.error &&
         a.consumed == b.consumed;
}

// Parses requests one after another as the server does (reset after each), feeding `input` in
// pieces whose lengths cycle through `pieces` (empty: all at once).
Parsed parseAll(std::string_view input, size_t maxHead, const std::vector<size_t>& pieces) {
  HttpRequestParser parser(maxHead);
  Parsed out;
  size_t next = 0;
  size_t fedTotal = 0;
  std::string_view pending;  // the piece being fed
  while (true) {
    if (pending.empty()) {
      if (fedTotal == input.size()) break;
      size_t length = input.size() - fedTotal;
      if (!pieces.empty()) length = std::min(length, pieces[next++ % pieces.size()]);
      pending = input.substr(fedTotal, length);
      fedTotal += length;
      if (length == 0) {
        require(parser.feed(pending).consumed == 0, "an empty feed consumed bytes");
        continue;
      }
    }
    auto step = parser.feed(pending);
    require(step.consumed <= pending.size(), "consumed more than fed");
    out.consumed += step.consumed;
    pending.remove_prefix(step.consumed);
    out.last = step.status;
    if (step.status == ParseStatus::kIncomplete) {
      require(pending.empty(), "incomplete with bytes left");
      continue;
    }
    if (step.status == ParseStatus::kError) {
      out.error = parser.errorStatus();
      require(out.error == 400 || out.error == 413 || out.error == 431 || out.error == 505,
              "unexpected error status");
      require(parser.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == ParseStatus::kError,
              "error did not stick");
      break;
    }
    const HttpRequest& r = parser.request();
    require(!r.method.empty() && !r.target.empty() && !r.path.empty(), "empty request field");
    require(r.path == "*" || r.path[0] == '/', "path is not absolute");
    require(r.path.find('?') == std::string::npos, "query left in the path");
    require(parser.feed("x").consumed == 0, "a complete parser consumed more");
    out.requests.push_back(r);
    parser.reset();
  }
  return out;
}

void checkRawInput(std::string_view input) {
  std::vector<size_t> derived;
  for (size_t i = 0; i < input.size() && i < 64; ++i) {
    derived.push_back(static_cast<unsigned char>(input[i]) % 13);
  }
  derived.push_back(1);
  for (size_t maxHead : {HttpRequestParser::kDefaultMaxHeadBytes, size_t{48}}) {
    const Parsed whole = parseAll(input, maxHead, {});
    require(whole.consumed <= input.size(), "consumed more than the input");
    require(parseAll(input, maxHead, {1}) == whole, "byte-at-a-time differs");
    require(parseAll(input, maxHead, derived) == whole, "split parse differs");
  }
}

// A well-formed request from the input: what we build is what comes out.
void checkRoundTrip(std::string_view input) {
  FuzzedDataProvider provider(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  static constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "X-Y~1"};
  HttpRequest expected;
  expected.method = kMethods[provider.ConsumeIntegralInRange<size_t>(0, 3)];
  std::string path = "/";
  for (char c : provider.ConsumeRandomLengthString(64)) {
    if (c > 0x20 && c < 0x7f && c != '?') path.push_back(c);
  }
  std::string query = provider.ConsumeBool() ? "?a=1&b" : "";
  expected.target = path + query;
  expected.path = path;
  expected.minorVersion = provider.ConsumeBool() ? 1 : 0;
  bool close = provider.ConsumeBool();
  bool keepAlive = provider.ConsumeBool();
  expected.keepAlive = !close && (expected.minorVersion == 1 || keepAlive);
  const char* eol = provider.ConsumeBool() ? "\r\n" : "\n";

  std::string wire = expected.method + " " + expected.target + " HTTP/1." +
                     std::to_string(expected.minorVersion) + eol + "Host: h" + eol;
  if (close) wire += std::string("Connection: close") + eol;
  if (keepAlive) wire += std::string("Connection: keep-alive") + eol;
  if (provider.ConsumeBool()) wire += std::string("Content-Length: 0") + eol;
  wire += eol;

  std::vector<size_t> pieces;
  while (provider.remaining_bytes() > 0 && pieces.size() < 32) {
    pieces.push_back(provider.ConsumeIntegralInRange<size_t>(0, 40));
  }
  pieces.push_back(wire.size());  // never all zeros, or nothing would be fed
  Parsed parsed = parseAll(wire + wire, HttpRequestParser::kDefaultMaxHeadBytes, pieces);
  require(parsed.requests.size() == 2, "round trip: not two requests");
  require(parsed.requests[0] == expected && parsed.requests[1] == expected,
          "round trip: fields differ");
  require(parsed.consumed == 2 * wire.size(), "round trip: consumed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkRawInput(input);
  checkRoundTrip(input);
  return 0;
}
