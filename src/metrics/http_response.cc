#include "metrics/http_response.h"

#include <algorithm>
#include <cstdio>

namespace udp::metrics {
namespace {

bool validContentType(std::string_view value) {
  for (char c : value) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";  // the reason phrase is optional (RFC 9112 §4)
  }
}

std::string httpDate(std::time_t time) {
  // By hand rather than strftime: %a and %b would follow the locale.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&time, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                        kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                        tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf, n > 0 ? std::min(static_cast<size_t>(n), sizeof buf - 1) : 0);
}

HttpResponse textResponse(int status, std::string_view text) {
  return {status, "text/plain; charset=utf-8", std::string(text) + "\n"};
}

void appendResponse(std::string& out, const HttpResponse& given, const ResponseFraming& framing) {
  const HttpResponse* response = &given;
  HttpResponse fallback;
  if (given.status < 100 || given.status > 599 || !validContentType(given.contentType)) {
    fallback = textResponse(500, "internal error");
    response = &fallback;
  }
  const int status = response->status;
  // RFC 9110 §6.4.1: these never carry content.
  const bool noContent = status < 200 || status == 204 || status == 304;

  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\nDate: ";
  out += httpDate(framing.date);
  if (!response->contentType.empty() && !noContent) {
    out += "\r\nContent-Type: ";
    out += response->contentType;
  }
  if (!noContent) {
    out += "\r\nContent-Length: ";
    out += std::to_string(response->body.size());
  }
  if (!framing.allow.empty()) {
    out += "\r\nAllow: ";
    out += framing.allow;
  }
  if (framing.close) {
    out += "\r\nConnection: close";
  } else if (framing.keepAliveHeader) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
  if (!framing.head && !noContent) out += response->body;
}

}  // namespace udp::metrics
