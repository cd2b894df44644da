#pragma once

// UTF-8 as text that leaves this process must be: sysfs strings such as a USB model are bytes,
// not text, and a JSON reader rejects a whole document for one ill-formed byte.

#include <cstddef>
#include <string>
#include <string_view>

namespace udp {

inline constexpr std::string_view kUtf8Replacement = "\xef\xbf\xbd";  // U+FFFD

// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode Table 3-7: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0 when there is none. `*bad` is then
// the length of the maximal subpart to replace: the lead byte and the continuation bytes that
// were still valid for it, at least 1. `text` must start with a byte of 0x80 or more: ASCII is
// a sequence of its own, which callers test for first.
size_t utf8SequenceLength(std::string_view text, size_t* bad);

// `text` with each ill-formed part replaced by U+FFFD (one per maximal subpart, as
// appendJsonString does), cut at a character boundary to at most `maxBytes` bytes.
std::string validUtf8Prefix(std::string_view text, size_t maxBytes);

}  // namespace udp
