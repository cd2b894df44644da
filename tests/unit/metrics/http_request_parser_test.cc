// The HTTP/1.1 request-head parser: fields, framing decisions, limits and bad input, and the same
// answer however the bytes are split; plus the response serializer.

#include "metrics/http_request_parser.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "metrics/http_response.h"

using namespace udp::metrics;

namespace {

struct Outcome {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;
  int error = 0;
  HttpRequest request;
};

// Feeds `input` in pieces cut at `cuts` (ascending offsets); stops at the first non-incomplete
// status, as the server does.
Outcome parseSplit(std::string_view input, const std::vector<size_t>& cuts,
                   size_t maxHead = HttpRequestParser::kDefaultMaxHeadBytes) {
  HttpRequestParser parser(maxHead);
  Outcome out;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    ParseStep step = parser.feed(input.substr(start, end - start));
    out.consumed += step.consumed;
    out.status = step.status;
    if (step.status != ParseStatus::kIncomplete) break;
    CHECK(step.consumed == end - start);
    start = end;
  }
  out.error = parser.errorStatus();
  out.request = parser.request();
  return out;
}

Outcome parse(std::string_view input, size_t maxHead = HttpRequestParser::kDefaultMaxHeadBytes) {
  return parseSplit(input, {}, maxHead);
}

void checkSame(const Outcome& a, const Outcome& b) {
  CHECK(a.status == b.status);
  CHECK(a.consumed == b.consumed);
  CHECK(a.error == b.error);
  if (a.status == ParseStatus::kComplete) {
    CHECK(a.request.method == b.request.method);
    CHECK(a.request.target == b.request.target);
    CHECK(a.request.path == b.request.path);
    CHECK(a.request.minorVersion == b.request.minorVersion);
    CHECK(a.request.keepAlive == b.request.keepAlive);
  }
}

}  // namespace

TEST_CASE("a GET head") {
  std::string head = "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost:9100\r\nAccept: */*\r\n\r\n";
  Outcome o = parse(head + "trailing");
  REQUIRE(o.status == ParseStatus::kComplete);
  CHECK(o.consumed == head.size());
  CHECK(o.request.method == "GET");
  CHECK(o.request.target == "/metrics?x=1");
  CHECK(o.request.path == "/metrics");
  CHECK(o.request.minorVersion == 1);
  CHECK(o.request.keepAlive);
}

TEST_CASE("a complete parser consumes nothing more until reset") {
  HttpRequestParser parser;
  std::string two = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";
  ParseStep first = parser.feed(two);
  REQUIRE(first.status == ParseStatus::kComplete);
  CHECK(parser.request().path == "/a");
  ParseStep again = parser.feed(std::string_view(two).substr(first.consumed));
  CHECK(again.status == ParseStatus::kComplete);
  CHECK(again.consumed == 0);
  parser.reset();
  ParseStep second = parser.feed(std::string_view(two).substr(first.consumed));
  REQUIRE(second.status == ParseStatus::kComplete);
  CHECK(first.consumed + second.consumed == two.size());
  CHECK(parser.request().method == "HEAD");
  CHECK(parser.request().path == "/b");
}

TEST_CASE("keep-alive by version and Connection") {
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").request.keepAlive);
  CHECK_FALSE(
      parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close \r\n\r\n").request.keepAlive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keepAlive);
  Outcome ten = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  CHECK(ten.request.keepAlive);
  CHECK(ten.request.minorVersion == 0);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").request.keepAlive);
}

TEST_CASE("leniencies RFC 9112 allows") {
  SUBCASE("bare LF line ends") {
    CHECK(parse("GET / HTTP/1.1\nHost: h\n\n").status == ParseStatus::kComplete);
  }
  SUBCASE("empty lines before the request line") {
    Outcome o = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(o.status == ParseStatus::kComplete);
    CHECK(o.request.method == "GET");
  }
  SUBCASE("a later HTTP/1.x minor version reads as 1.1") {
    CHECK(parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n").request.minorVersion == 2);
  }
  SUBCASE("absolute-form and asterisk-form targets") {
    CHECK(parse("GET http://h:9100/metrics?q HTTP/1.1\r\nHost: h\r\n\r\n").request.path ==
          "/metrics");
    CHECK(parse("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n").request.path == "/");
    CHECK(parse("GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n").request.path == "/");
    CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").request.path == "*");
  }
  SUBCASE("Content-Length 0 and a list of zeros are no body") {
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").status ==
          ParseStatus::kComplete);
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0, 00\r\n\r\n").status ==
          ParseStatus::kComplete);
  }
  SUBCASE("header values may carry obs-text") {
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n").status ==
          ParseStatus::kComplete);
  }
}

TEST_CASE("bad heads and the status they earn") {
  struct Case {
    const char* name;
    std::string input;
    int status;
  };
  std::vector<Case> cases = {
      {"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"version junk", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400},
      {"space after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"HTTP/2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
      {"relative target", "GET metrics HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"other scheme", "GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"control byte in target", std::string("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"NUL in method", std::string("G\0T / HTTP/1.1\r\n\r\n", 18), 400},
      {"bare CR", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
      {"field without colon", "GET / HTTP/1.1\r\nHost: h\r\nBroken\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n", 400},
      {"control byte in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400},
      {"bad Content-Length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400},
      {"empty Content-Length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400},
      {"a body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 413},
      {"a chunked body", "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 413},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Outcome o = parse(c.input);
    CHECK(o.status == ParseStatus::kError);
    CHECK(o.error == c.status);
    CHECK(o.consumed <= c.input.size());
  }
}

TEST_CASE("the head limit counts every byte of the head") {
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  const size_t limit = 64;
  head += std::string(limit - head.size() - 4, 'a') + "\r\n\r\n";
  REQUIRE(head.size() == limit);
  CHECK(parse(head, limit).status == ParseStatus::kComplete);
  Outcome over = parse("\r\n" + head, limit);  // skipped empty lines count too
  CHECK(over.status == ParseStatus::kError);
  CHECK(over.error == 431);
  CHECK(over.consumed == limit + 1);

  Outcome big = parse("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(9000, 'a') + "\r\n\r\n");
  CHECK(big.error == 431);
  CHECK(big.consumed == HttpRequestParser::kDefaultMaxHeadBytes + 1);
}

TEST_CASE("the same outcome however the bytes are split") {
  std::vector<std::string> inputs = {
      "GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n",
      "\r\nHEAD http://h/x?y HTTP/1.0\nConnection: keep-alive\n\n",
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0, 7\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n",
  };
  for (const std::string& input : inputs) {
    CAPTURE(input);
    Outcome whole = parse(input);
    std::vector<size_t> everyByte;
    for (size_t i = 1; i < input.size(); ++i) everyByte.push_back(i);
    checkSame(parseSplit(input, everyByte), whole);
    for (size_t cut = 0; cut <= input.size(); ++cut) checkSame(parseSplit(input, {cut}), whole);
    for (size_t limit : {size_t{16}, size_t{40}}) {
      Outcome bounded = parse(input, limit);
      checkSame(parseSplit(input, everyByte, limit), bounded);
    }
  }
}

TEST_CASE("responses on the wire") {
  const std::time_t date = 784111777;  // RFC 9110's example date
  CHECK(httpDate(date) == "Sun, 06 Nov 1994 08:49:37 GMT");
  HttpResponse hello{200, "text/plain", "hello\n"};

  std::string out;
  ResponseFraming framing;
  framing.date = date;
  appendResponse(out, hello, framing);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
        "Content-Length: 6\r\n\r\nhello\n");

  out.clear();
  framing.head = true;
  framing.keepAliveHeader = true;
  appendResponse(out, hello, framing);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
        "Content-Length: 6\r\nConnection: keep-alive\r\n\r\n");

  out.clear();
  ResponseFraming refused;
  refused.date = date;
  refused.allow = "GET, HEAD";
  refused.close = true;
  appendResponse(out, textResponse(405, "method not allowed"), refused);
  CHECK(out ==
        "HTTP/1.1 405 Method Not Allowed\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\nAllow: GET, HEAD\r\n"
        "Connection: close\r\n\r\nmethod not allowed\n");

  out.clear();
  appendResponse(out, {204, "text/plain", "ignored"}, framing);
  CHECK(out ==
        "HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Connection: keep-alive\r\n\r\n");

  SUBCASE("a handler's mistakes become 500") {
    for (HttpResponse bad : {HttpResponse{99, "", ""}, HttpResponse{600, "", ""},
                             HttpResponse{200, "text/plain\r\nX-Injected: 1", "x"}}) {
      out.clear();
      appendResponse(out, bad, ResponseFraming{});
      CHECK(out.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
      CHECK(out.find("X-Injected") == std::string::npos);
    }
  }
}
