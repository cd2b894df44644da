#pragma once

// What a handler answers on the metrics server, and how an answer goes on the wire (pure).

#include <ctime>
#include <functional>
#include <string>
#include <string_view>

namespace udp::metrics {

struct HttpResponse {
  int status = 200;
  std::string contentType;
  std::string body;
};

// Called on the reactor thread for each GET or HEAD (the server answers other methods itself
// with 405); `path` has no query. For HEAD the server sends the headers of the answer only.
using HttpHandler = std::function<HttpResponse(std::string_view method, std::string_view path)>;

struct ResponseFraming {
  bool head = false;             // HEAD: the GET answer's headers, no body
  bool close = false;            // `Connection: close`, and the connection ends after it
  bool keepAliveHeader = false;  // HTTP/1.0 asked for keep-alive: say `Connection: keep-alive`
  std::string_view allow;        // an `Allow` header (405), when not empty
  std::time_t date = 0;          // the `Date` header (RFC 9110 §6.6.1)
};

std::string_view reasonPhrase(int status);
// The IMF-fixdate form, `Sun, 06 Nov 1994 08:49:37 GMT`.
std::string httpDate(std::time_t time);

// Appends the status line, headers and (unless HEAD, 1xx, 204 or 304) the body. A response a
// handler got wrong (status outside 100-599, CR or LF in the content type) goes out as 500.
void appendResponse(std::string& out, const HttpResponse& response, const ResponseFraming& framing);

// A short text/plain answer: the server's own errors.
HttpResponse textResponse(int status, std::string_view text);

}  // namespace udp::metrics
