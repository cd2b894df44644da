#include "metrics/http_request_parser.h"

namespace udp::metrics {
namespace {

// RFC 9110 §5.6.2 token characters.
bool isTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool isVisible(char c) {
  return c > 0x20 && c < 0x7f;
}

bool isObsText(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The path of an origin-form (`/p?q`), absolute-form (`http://host/p?q`, which RFC 9112 §3.2.2
// obliges servers to accept) or asterisk-form target; false for anything else.
bool targetPath(std::string_view target, std::string& path) {
  if (target == "*") {
    path.assign(target);  // not a literal: g++ 12 warns falsely (-Wrestrict) on that
    return true;
  }
  if (target.front() != '/') {
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos ||
        !(equalsIgnoreCase(target.substr(0, scheme), "http") ||
          equalsIgnoreCase(target.substr(0, scheme), "https"))) {
      return false;
    }
    target.remove_prefix(scheme + 3);
    size_t slash = target.find_first_of("/?");
    if (slash == 0) return false;  // no authority
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    if (target.front() == '?') target = "/";
  }
  path = std::string(target.substr(0, target.find('?')));
  return true;
}

}  // namespace

ParseStep HttpRequestParser::feed(std::string_view input) {
  if (state_ == State::kDone) return {ParseStatus::kComplete, 0};
  if (state_ == State::kError) return {ParseStatus::kError, 0};
  for (size_t i = 0; i < input.size(); ++i) {
    consume(input[i]);
    if (state_ == State::kDone) return {ParseStatus::kComplete, i + 1};
    if (state_ == State::kError) return {ParseStatus::kError, i + 1};
  }
  return {ParseStatus::kIncomplete, input.size()};
}

void HttpRequestParser::reset() {
  *this = HttpRequestParser(maxHeadBytes_);
}

void HttpRequestParser::fail(int status) {
  errorStatus_ = status;
  state_ = State::kError;
}

// CR must be followed by LF; a bare LF is accepted as a line end too (RFC 9112 §2.2).
void HttpRequestParser::lineEnd(char c, State next) {
  if (c == '\r') {
    afterLf_ = next;
    state_ = State::kAwaitLf;
  } else {
    enter(next);
  }
}

void HttpRequestParser::enter(State next) {
  if (next == State::kDone) {
    finishHead();
  } else {
    state_ = next;
  }
}

void HttpRequestParser::consume(char c) {
  if (++headBytes_ > maxHeadBytes_) {
    fail(431);
    return;
  }
  switch (state_) {
    case State::kLineStart:
      if (c == '\r' || c == '\n') {
        lineEnd(c, State::kLineStart);
      } else if (isTchar(c)) {
        request_.method.push_back(c);
        state_ = State::kMethod;
      } else {
        fail(400);
      }
      break;
    case State::kMethod:
      if (isTchar(c)) {
        request_.method.push_back(c);
      } else if (c == ' ') {
        state_ = State::kTarget;
      } else {
        fail(400);
      }
      break;
    case State::kTarget:
      if (isVisible(c)) {
        request_.target.push_back(c);
      } else if (c == ' ' && !request_.target.empty()) {
        state_ = State::kVersion;
      } else {
        fail(400);
      }
      break;
    case State::kVersion:
      if (c == '\r' || c == '\n') {
        if (finishRequestLine()) lineEnd(c, State::kFieldStart);
      } else if (isVisible(c)) {
        version_.push_back(c);
      } else {
        fail(400);
      }
      break;
    case State::kFieldStart:
      if (c == '\r' || c == '\n') {
        lineEnd(c, State::kDone);
      } else if (isTchar(c)) {
        name_.assign(1, lower(c));
        value_.clear();
        state_ = State::kFieldName;
      } else {
        fail(400);  // includes obs-fold (a line starting with whitespace), RFC 9112 §5.2
      }
      break;
    case State::kFieldName:
      if (isTchar(c)) {
        name_.push_back(lower(c));
      } else if (c == ':') {
        state_ = State::kFieldValue;
      } else {
        fail(400);  // whitespace before the colon too, RFC 9112 §5.1
      }
      break;
    case State::kFieldValue:
      if (c == '\r' || c == '\n') {
        if (finishField()) lineEnd(c, State::kFieldStart);
      } else if (c == ' ' || c == '\t') {
        if (!value_.empty()) value_.push_back(c);
      } else if (isVisible(c) || isObsText(c)) {
        value_.push_back(c);
      } else {
        fail(400);
      }
      break;
    case State::kAwaitLf:
      if (c == '\n') {
        enter(afterLf_);
      } else {
        fail(400);
      }
      break;
    case State::kDone:
    case State::kError:
      break;
  }
}

bool HttpRequestParser::finishRequestLine() {
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  const std::string& v = version_;
  if (v.size() != 8 || v.compare(0, 5, "HTTP/") != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9') {
    fail(400);
    return false;
  }
  if (v[5] != '1') {
    fail(505);
    return false;
  }
  request_.minorVersion = v[7] - '0';
  if (!targetPath(request_.target, request_.path)) {
    fail(400);
    return false;
  }
  return true;
}

bool HttpRequestParser::finishField() {
  std::string_view value = trimOws(value_);
  if (name_ == "host") {
    if (sawHost_) {
      fail(400);  // RFC 9112 §3.2: more than one Host
      return false;
    }
    sawHost_ = true;
  } else if (name_ == "connection") {
    while (!value.empty()) {
      size_t comma = value.find(',');
      std::string_view option = trimOws(value.substr(0, comma));
      if (equalsIgnoreCase(option, "close")) connectionClose_ = true;
      if (equalsIgnoreCase(option, "keep-alive")) connectionKeepAlive_ = true;
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
  } else if (name_ == "content-length") {
    // A list of lengths is tolerated (RFC 9112 §6.3); any length but 0 means a body.
    do {
      size_t comma = value.find(',');
      std::string_view length = trimOws(value.substr(0, comma));
      if (length.empty() || length.find_first_not_of("0123456789") != std::string_view::npos) {
        fail(400);
        return false;
      }
      if (length.find_first_not_of('0') != std::string_view::npos) hasBody_ = true;
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    } while (!value.empty());
  } else if (name_ == "transfer-encoding") {
    hasBody_ = true;  // whatever the coding, a body follows
  }
  return true;
}

void HttpRequestParser::finishHead() {
  if (request_.minorVersion >= 1 && !sawHost_) {
    fail(400);  // RFC 9112 §3.2: an HTTP/1.1 request without Host
    return;
  }
  if (hasBody_) {
    fail(413);
    return;
  }
  request_.keepAlive = !connectionClose_ && (request_.minorVersion >= 1 || connectionKeepAlive_);
  state_ = State::kDone;
}

}  // namespace udp::metrics
