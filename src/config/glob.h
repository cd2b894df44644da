#pragma once

// Glob patterns of the config (kernel names, device nodes, drivers, property and attribute
// values): fnmatch(3) with no flags, as udev's rules use them.

#include <optional>
#include <string>
#include <string_view>

namespace udp::config {

// nullopt when `pattern` is well formed; otherwise what is wrong with it. fnmatch(3) reads an
// unclosed '[' as a literal and a trailing '\' as a pattern that never matches; both are almost
// always typos, so the config rejects them instead.
std::optional<std::string> globError(std::string_view pattern);

inline bool isValidGlob(std::string_view pattern) {
  return !globError(pattern).has_value();
}

// fnmatch(pattern, text, 0) == 0. A NUL inside either string matches nothing.
bool globMatch(std::string_view pattern, std::string_view text);

// False only when no string matches both patterns; true when one may. Exact for '*', '?',
// literals and bracket expressions of characters, ranges and classes; collating elements and
// equivalence classes ([.x.] [=x=]) count as any character, which can only err towards true.
bool globsMayIntersect(std::string_view a, std::string_view b);

}  // namespace udp::config
