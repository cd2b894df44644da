#pragma once

// The query of a request path to the API server, built one parameter at a time: every name and
// value percent-encoded as RFC 3986 §2.1 says, so that a selector's '=' and ',' or a continue
// token's '+', '/' and '=' reach the server as the text they are. Pure.

#include <string>
#include <string_view>

namespace udp::kubeapi {

// `text` with the unreserved characters of RFC 3986 §2.3 (ALPHA DIGIT '-' '.' '_' '~') kept and
// every other byte as %XX (upper-case hex, as §2.1 recommends).
std::string escapeQueryComponent(std::string_view text);

// Appends "name=value", both escaped, to `path`: after '?' when it has no query yet, else after
// '&'.
void addQueryParameter(std::string& path, std::string_view name, std::string_view value);

}  // namespace udp::kubeapi
