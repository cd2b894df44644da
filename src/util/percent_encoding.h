#pragma once

// Percent-encoding (RFC 3986 §2.1): each byte a caller's rule selects becomes '%' and two
// upper-case hex digits. The rules differ by use (a URL query keeps only the unreserved
// characters, a grpc-message header only escapes what HTTP/2 cannot carry); the encoding is one.
// Pure.

#include <string>
#include <string_view>

namespace udp {

// `text` with every byte for which `escape` is true written as %XX.
std::string percentEncode(std::string_view text, bool (*escape)(unsigned char));

}  // namespace udp
