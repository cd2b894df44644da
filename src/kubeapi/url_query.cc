#include "kubeapi/url_query.h"

#include "util/percent_encoding.h"

namespace udp::kubeapi {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string escapeQueryComponent(std::string_view text) {
  return percentEncode(text, [](unsigned char c) { return !unreserved(c); });
}

void addQueryParameter(std::string& path, std::string_view name, std::string_view value) {
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += escapeQueryComponent(name);
  path += '=';
  path += escapeQueryComponent(value);
}

}  // namespace udp::kubeapi
