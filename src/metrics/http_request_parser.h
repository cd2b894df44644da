#pragma once

// An incremental HTTP/1.1 request-head parser (RFC 9112 §2-3) for the metrics endpoint: pure, no
// I/O, fed whatever bytes arrived. It consumes exactly one request head and stops there, so the
// bytes of a pipelined next request stay with the caller. It keeps only what the server needs:
// the method, the target, the version and the framing headers; the head's size is bounded.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace udp::metrics {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent
  std::string path;    // the target without its query; an absolute-form target's path
  int minorVersion = 1;
  // HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
  bool keepAlive = true;

  bool operator==(const HttpRequest&) const = default;
};

enum class ParseStatus {
  kIncomplete,  // every byte was consumed; feed more
  kComplete,    // request() holds the request; reset() before the next one
  kError,       // errorStatus() says which; the connection cannot be read further
};

struct ParseStep {
  ParseStatus status;
  size_t consumed;  // bytes of the input that belonged to this request head
};

class HttpRequestParser {
 public:
  static constexpr size_t kDefaultMaxHeadBytes = 8 * 1024;

  explicit HttpRequestParser(size_t maxHeadBytes = kDefaultMaxHeadBytes)
      : maxHeadBytes_(maxHeadBytes) {}

  // After kComplete or kError, further feeds consume nothing and return the same status.
  ParseStep feed(std::string_view input);
  // Forgets the request; ready for the next one on the same connection.
  void reset();

  const HttpRequest& request() const { return request_; }
  // The HTTP status the server answers a bad head with: 400 (malformed), 413 (the request has a
  // body: we accept none), 431 (head over the limit), 505 (not HTTP/1.x). 0 before an error.
  int errorStatus() const { return errorStatus_; }

 private:
  enum class State {
    kLineStart,  // before the request line; empty lines there are skipped (RFC 9112 §2.2)
    kMethod,
    kTarget,
    kVersion,
    kFieldStart,
    kFieldName,
    kFieldValue,
    kAwaitLf,  // after a CR; then afterLf_
    kDone,
    kError,
  };

  void consume(char c);
  void fail(int status);
  bool finishRequestLine();
  bool finishField();
  void finishHead();
  void lineEnd(char c, State next);
  void enter(State next);

  size_t maxHeadBytes_;
  State state_ = State::kLineStart;
  State afterLf_ = State::kFieldStart;
  size_t headBytes_ = 0;
  std::string version_;
  std::string name_;   // current field name, lower-cased
  std::string value_;  // current field value, leading whitespace skipped
  HttpRequest request_;
  int errorStatus_ = 0;
  bool sawHost_ = false;
  bool connectionClose_ = false;
  bool connectionKeepAlive_ = false;
  bool hasBody_ = false;
};

}  // namespace udp::metrics
